// synod::Client: the public C++ client of a Synod ensemble.
//
// One Client is one session. It connects to one server of `servers` at a
// time, moves to another when that one fails, and keeps the session alive
// with keep-alives (client/core/session_core.h owns that logic; this class
// moves its bytes over TCP on a background thread it owns, "the client
// thread").
//
// Every operation comes in two forms, with the same arguments:
//   blocking   `Result<T> get(path, options)` waits for the answer, the
//              request's timeout or the end of the session.
//   callback   `void get(path, options, Callback<T> done)` returns at once;
//              `done` runs exactly once, on the client thread, with the
//              same Result the blocking form would have returned (a bad
//              argument too: it is never called from inside the call). It
//              must return quickly and must not block (see Threads).
// The blocking form is the callback form plus a wait. synod/asio.h adapts
// the callback form to Asio completion tokens (use_awaitable and others).
//
// A Result is a value, or an Error that names the store's error (ErrorCode,
// spelled as on the wire: "NO_NODE"), a sentence, and whether the outcome
// is definite:
//   definite  the operation certainly did not happen (every failed read;
//             a write the ensemble refused; a write that timed out before
//             it was sent).
//   unknown   a write that was sent and then lost (CONNECTION_LOSS), timed
//             out (TIMEOUT), or was in flight when the session expired: it
//             may have been applied. Writes are never retried by the client;
//             reads are re-sent after a reconnect.
//
// Timeouts: a request's timeout_ms (unset: ClientOptions::request_timeout_ms,
// longer values clamped to it) runs from the call to the answer, in both
// forms; it ends the request with TIMEOUT. Requests are not cancellable
// otherwise.
//
// Threads: every method may be called from any thread, concurrently,
// including (the callback forms) from the client thread. Watch, session and
// operation callbacks run on the client thread, one at a time, in the order
// the server sent what they report; a callback must return quickly, must
// not throw, and must not call a blocking method of the same Client (it
// would wait for itself: such a call fails at once with BAD_ARGUMENTS).
// Destroying the Client completes every callback still pending
// (CONNECTION_LOSS, unknown for a write) before the destructor returns;
// destroyed inside a callback, it leaves the close and the join to a
// short-lived thread of its own, and those callbacks complete there after.
//
// This header depends on the C++ standard library only.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace synod {

// The store's error codes, with the wire's numbers (protocol/error.h;
// the library static_asserts they agree).
enum class ErrorCode : std::int32_t {
  OK = 0,
  NO_NODE = 1,
  NODE_EXISTS = 2,
  BAD_VERSION = 3,
  NOT_EMPTY = 4,
  NO_CHILDREN_FOR_EPHEMERALS = 5,
  BAD_ARGUMENTS = 6,
  TOO_LARGE = 7,
  FENCED = 8,
  SESSION_EXPIRED = 9,
  COMPACTED = 10,
  NOT_LEADER = 11,
  SESSION_MOVED = 12,
  TIMEOUT = 13,
  CONNECTION_LOSS = 14,
  UNIMPLEMENTED = 15,
  ROLLED_BACK = 16,
  NOT_EXECUTED = 17,
  CORRUPTED = 18,
  LIMIT_EXCEEDED = 19,
};

// "NO_NODE" for ErrorCode::NO_NODE; "UNKNOWN_ERROR" outside the enum.
[[nodiscard]] std::string_view error_name(ErrorCode code);

// ZooKeeper's stat (protocol/types.h explains each field).
struct Stat {
  std::uint64_t czxid = 0;
  std::uint64_t mzxid = 0;
  std::uint64_t pzxid = 0;
  std::int64_t ctime_ms = 0;
  std::int64_t mtime_ms = 0;
  std::int32_t version = 0;
  std::int32_t cversion = 0;
  std::uint64_t ephemeral_owner = 0;
  std::int32_t num_children = 0;
  std::int32_t data_length = 0;
  friend bool operator==(const Stat&, const Stat&) = default;
};

// One op of a multi. error: OK; or, in a multi the ensemble refused,
// ROLLED_BACK (ran, then undone), the failing op's own error, NOT_EXECUTED
// (after the failing op, or every op when the multi failed before any ran).
struct OpResult {
  ErrorCode error = ErrorCode::OK;
  std::string path;  // the created path, for a create
  std::optional<Stat> stat;
};

struct Error {
  Error() = default;
  Error(ErrorCode error_code, std::string text, bool is_definite = true)
      : code(error_code), message(std::move(text)), definite(is_definite) {}

  ErrorCode code = ErrorCode::BAD_ARGUMENTS;  // never OK
  std::string message;                        // a sentence for people
  bool definite = true;                       // false: the write may have happened
  // A multi the ensemble refused: one OpResult per op, as above. Empty for
  // every other error (and for a multi that never reached the ensemble).
  std::vector<OpResult> multi_results;

  [[nodiscard]] std::string_view name() const { return error_name(code); }
};

// A T or an Error. value() on an error, or error() on a value, is a bug and
// aborts.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT(implicit)
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT(implicit)

  [[nodiscard]] bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  [[nodiscard]] const T& value() const& { return std::get<0>(v_); }
  [[nodiscard]] T& value() & { return std::get<0>(v_); }
  [[nodiscard]] T&& value() && { return std::get<0>(std::move(v_)); }
  [[nodiscard]] const Error& error() const { return std::get<1>(v_); }
  // OK when ok().
  [[nodiscard]] ErrorCode code() const { return ok() ? ErrorCode::OK : error().code; }

 private:
  std::variant<T, Error> v_;
};

// The value of an operation that answers nothing but success.
struct Done {};

enum class NodeKind : std::uint8_t { persistent = 0, ephemeral = 1, container = 2, ttl = 3 };
[[nodiscard]] std::string_view node_kind_name(NodeKind kind);

// What a create does when a parent is missing: fail with NO_NODE, or create
// the missing parents as persistent nodes or as containers.
enum class Parents : std::uint8_t { fail = 0, create_persistent = 1, create_container = 2 };

// Rejects a write with FENCED unless the node at `path` exists and its czxid
// equals `token` (the lock node's czxid, handed out as the token).
struct Fence {
  std::string path;
  std::uint64_t token = 0;
};

// linearizable: never stale (read-index at the leader). sequential: the
// server's local state, never older than what this session has seen.
enum class Consistency : std::uint8_t { linearizable = 0, sequential = 1 };

// timeout_ms: this request's deadline, in [1, ClientOptions::request_timeout_ms];
// unset means ClientOptions::request_timeout_ms. Longer values are clamped.
struct ReadOptions {
  bool watch = false;  // leave a one-shot watch; it fires to the default watcher
  Consistency consistency = Consistency::linearizable;
  std::optional<std::int64_t> timeout_ms{};
};

inline constexpr std::uint32_t children_limit_max = 10'000;  // protocol::children_page_max

// after: "" for the first page, then the previous page's next_after.
// limit: children per page, in [1, children_limit_max].
struct ChildrenOptions {
  ReadOptions read{};
  std::string after{};
  std::uint32_t limit = 1000;
};

struct CreateOptions {
  NodeKind kind = NodeKind::persistent;
  bool sequential = false;    // append the parent's cversion as %010d
  std::int64_t ttl_ms = 0;    // > 0 exactly when kind is ttl
  Parents parents = Parents::fail;
  std::optional<Fence> fence{};
  std::optional<std::int64_t> timeout_ms{};
};

// version: the expected version (unset matches any, ZooKeeper's -1).
struct WriteOptions {
  std::optional<std::int32_t> version{};
  std::optional<Fence> fence{};
  std::optional<std::int64_t> timeout_ms{};
};

struct Created {
  std::string path;  // with its sequence suffix
  Stat stat;
};
struct Data {
  std::string data;
  Stat stat;
  NodeKind kind = NodeKind::persistent;
  std::int64_t ttl_ms = 0;
};
struct Child {
  std::string name;
  Stat stat;
};
struct ChildrenPage {
  std::vector<Child> children;          // in bytewise name order
  std::optional<std::string> next_after;  // set when more follow
};

// ---- multi ----
struct CreateOp {
  std::string path;
  std::string data;
  NodeKind kind = NodeKind::persistent;
  bool sequential = false;
  std::int64_t ttl_ms = 0;
  Parents parents = Parents::fail;
};
struct DeleteOp {
  std::string path;
  std::optional<std::int32_t> version{};
};
struct SetOp {
  std::string path;
  std::string data;
  std::optional<std::int32_t> version{};
};
struct CheckOp {
  std::string path;
  std::optional<std::int32_t> version{};
};
// fence: checked just before this op, after the earlier ones.
struct MultiOp {
  std::variant<CreateOp, DeleteOp, SetOp, CheckOp> op;
  std::optional<Fence> fence{};
};
inline constexpr std::size_t multi_ops_max = 1024;  // protocol::multi_ops_max

// ---- watches ----
// compacted is not a change: the watch it names has ended with a gap (the
// session moved to a server that no longer holds the history the watch
// needed to resume, or that refused it). Re-read the state and set the watch
// again. It is delivered to that watch's callback only (or, for a one-shot
// watch left by a read, to the default watcher).
enum class EventType : std::uint8_t {
  created = 1,
  deleted = 2,
  data_changed = 3,
  children_changed = 4,
  compacted = 5,
};
[[nodiscard]] std::string_view event_type_name(EventType type);

// data, children, exists: one-shot (left by a read with watch = true, or
// set_watch). persistent: every change of the node until removed.
// persistent_recursive: every change of the node and of everything below it
// (not children_changed). A session that moves to another server keeps every
// kind: the client sets them again there (ZooKeeper's SetWatches), and a
// one-shot watch whose node changed meanwhile fires then.
enum class WatchKind : std::uint8_t {
  data = 1,
  children = 2,
  exists = 3,
  persistent = 4,
  persistent_recursive = 5,
};

struct WatchEvent {
  EventType type = EventType::created;
  std::string path;        // the node that changed (its parent for children_changed)
  std::uint64_t zxid = 0;  // of the entry that made the change
  std::string watch_path;  // the registration that fired
  WatchKind watch_kind = WatchKind::data;
};
using WatchCallback = std::function<void(const WatchEvent&)>;

// ---- the session ----
// connecting: no session yet. connected: attached. suspended: the
// connection is gone; the session may still be alive (until safe_until and
// perhaps longer) and the client is reconnecting. expired, closed: final;
// every later call fails with SESSION_EXPIRED.
enum class SessionState : std::uint8_t { connecting, connected, suspended, expired, closed };
[[nodiscard]] std::string_view session_state_name(SessionState state);
using SessionCallback = std::function<void(SessionState, std::string_view why)>;

inline constexpr std::size_t servers_max = 64;

struct ClientOptions {
  std::vector<std::string> servers;  // HOST:PORT, 1..servers_max of them
  std::int64_t session_timeout_ms = 10000;  // asked for; the server may clamp it
  std::int64_t request_timeout_ms = 10000;  // default and ceiling of a request's
  std::int64_t connect_timeout_ms = 3000;   // one connection attempt
  // connect() waits this long for the session to open before giving up.
  std::int64_t open_wait_ms = 10000;
  WatchCallback default_watcher;    // one-shot watches left by reads; may be empty
  SessionCallback session_watcher;  // every session state change; may be empty
};

// "" when valid; otherwise a sentence naming the first bad field.
[[nodiscard]] std::string validate(const ClientOptions& options);
// Splits "h1:1,h2:2" on commas, dropping empty items.
[[nodiscard]] std::vector<std::string> split_servers(std::string_view list);

// A callback form's completion: runs exactly once, on the client thread.
// May be empty (nothing is called).
template <class T>
using Callback = std::function<void(Result<T>)>;

class Client {
 public:
  // Starts the client thread and waits until the session opens (up to
  // options.open_wait_ms). BAD_ARGUMENTS for invalid options;
  // CONNECTION_LOSS when no server answered in time.
  [[nodiscard]] static Result<std::unique_ptr<Client>> connect(ClientOptions options);
  // The same without waiting: `done` gets the Client on the client thread
  // once the session opens, or the same errors as above (invalid options:
  // on the calling thread, before connect returns; no session in time: on
  // the client thread, which then stops by itself).
  static void connect(ClientOptions options, Callback<std::unique_ptr<Client>> done);

  // Closes the session (waiting up to 2 s for the server to confirm; the
  // ephemerals go then, or at expiry) and joins the client thread (see
  // Threads above for a Client destroyed inside a callback).
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  [[nodiscard]] Result<Created> create(std::string_view path, std::string_view data,
                                       const CreateOptions& options = {});
  void create(std::string_view path, std::string_view data, const CreateOptions& options,
              Callback<Created> done);

  [[nodiscard]] Result<Data> get(std::string_view path, const ReadOptions& options = {});
  void get(std::string_view path, const ReadOptions& options, Callback<Data> done);

  // nullopt when the node does not exist (with watch: fires when created).
  [[nodiscard]] Result<std::optional<Stat>> exists(std::string_view path,
                                                   const ReadOptions& options = {});
  void exists(std::string_view path, const ReadOptions& options,
              Callback<std::optional<Stat>> done);

  [[nodiscard]] Result<ChildrenPage> children(std::string_view path,
                                              const ChildrenOptions& options = {});
  void children(std::string_view path, const ChildrenOptions& options,
                Callback<ChildrenPage> done);

  // Every child, page after page (each page a separate read: not a snapshot;
  // options.timeout_ms applies to each page). At most `max` children; more
  // is LIMIT_EXCEEDED. A watch is left by the first page only.
  [[nodiscard]] Result<std::vector<Child>> all_children(std::string_view path,
                                                        std::size_t max = 1'000'000,
                                                        const ReadOptions& options = {});
  void all_children(std::string_view path, std::size_t max, const ReadOptions& options,
                    Callback<std::vector<Child>> done);

  [[nodiscard]] Result<Stat> set(std::string_view path, std::string_view data,
                                 const WriteOptions& options = {});
  void set(std::string_view path, std::string_view data, const WriteOptions& options,
           Callback<Stat> done);

  [[nodiscard]] Result<Done> remove(std::string_view path, const WriteOptions& options = {});
  void remove(std::string_view path, const WriteOptions& options, Callback<Done> done);

  // All or nothing. When the ensemble refuses it, the Error has the failing
  // op's code, a message naming that op ("multi op 2: ..."), and
  // multi_results; at most multi_ops_max ops.
  [[nodiscard]] Result<std::vector<OpResult>> multi(const std::vector<MultiOp>& ops,
                                                    std::optional<Fence> fence = std::nullopt,
                                                    std::optional<std::int64_t> timeout_ms = {});
  void multi(const std::vector<MultiOp>& ops, std::optional<Fence> fence,
             std::optional<std::int64_t> timeout_ms, Callback<std::vector<OpResult>> done);

  // Later sequential reads of this session see every write committed before.
  [[nodiscard]] Result<Done> sync(std::optional<std::int64_t> timeout_ms = {});
  void sync(std::optional<std::int64_t> timeout_ms, Callback<Done> done);

  // OK with the fence's token when the fence holds; FENCED otherwise.
  [[nodiscard]] Result<std::uint64_t> check_fence(const Fence& fence,
                                                  std::optional<std::int64_t> timeout_ms = {});
  void check_fence(const Fence& fence, std::optional<std::int64_t> timeout_ms,
                   Callback<std::uint64_t> done);

  // Registers `callback` for (path, kind), replacing an earlier one for the
  // same pair. from_zxid (persistent kinds only; BAD_ARGUMENTS for a
  // one-shot kind): replay every change after that zxid first (COMPACTED if
  // that history is gone). A one-shot kind fires once, then is gone. On a
  // session move the client sets the watch again, resumed at last_zxid();
  // when the new server cannot resume it the callback gets an
  // EventType::compacted event and the watch ends. When the server refuses
  // the watch the registration is undone (unless another set_watch replaced
  // it meanwhile). `callback` runs on the client thread.
  [[nodiscard]] Result<Done> set_watch(std::string_view path, WatchKind kind,
                                       WatchCallback callback,
                                       std::optional<std::uint64_t> from_zxid = std::nullopt);
  void set_watch(std::string_view path, WatchKind kind, WatchCallback callback,
                 std::optional<std::uint64_t> from_zxid, Callback<Done> done);
  // The callback is dropped at once; events already on their way are not
  // delivered to it.
  [[nodiscard]] Result<Done> remove_watch(std::string_view path, WatchKind kind);
  void remove_watch(std::string_view path, WatchKind kind, Callback<Done> done);

  // Like ClientOptions::session_watcher, for as many listeners as wanted
  // (after it, in the order added). Returns an id for remove; the listener
  // may still run once while remove_session_listener returns (it runs on
  // the client thread), never after.
  [[nodiscard]] std::uint64_t add_session_listener(SessionCallback listener);
  void remove_session_listener(std::uint64_t id);

  [[nodiscard]] SessionState state() const;
  [[nodiscard]] std::uint64_t session_id() const;
  [[nodiscard]] std::uint64_t last_zxid() const;
  [[nodiscard]] std::int64_t negotiated_timeout_ms() const;
  // Until then the session and its ephemerals are certainly alive (a lock
  // holder must stop acting as one after it). Epoch when not known. Only
  // keep-alive answers extend it (sent every third of the session timeout):
  // the server answers one only after the leader, confirmed by a quorum,
  // reset the session's timeout; so it is the keep-alive's send time plus
  // the timeout, never later than the leader could expire the session.
  [[nodiscard]] std::chrono::steady_clock::time_point safe_until() const;
  // The server the session is attached to (or was last), as given.
  [[nodiscard]] std::string server() const;
  // True on the client thread (inside a callback).
  [[nodiscard]] bool on_client_thread() const;

  class Impl;

 private:
  explicit Client(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace synod
