// SessionCore: one client session, sans I/O. It decides what to send, when
// to connect and to which server, and what each request's outcome is; the
// owner (client/ with Asio, tests/sim with a simulated network) moves bytes
// and time. It never reads a clock, never draws randomness but from the
// Prng it is given, and never throws (STYLE.md habits 2 and 4).
//
// Inputs, each with the owner's monotonic time `now_ms` (never decreasing):
//   start(now)              once: connect to a server drawn from the Prng
//   on_connected(now)       the last Connect{} succeeded
//   on_disconnected(now)    the connection failed or closed (also: the last
//                           Connect{} failed)
//   on_frame(now, bytes)    one ServerFrame, without its u32 length prefix
//   on_tick(now)            time passed; call it at least every
//                           next_wakeup_ms() (or every few ms)
//   submit(now, body)       a user request; returns its RequestId
//   close(now)              end the session (CloseSession, then closed)
// Outputs, drained after every input:
//   take_actions()  Connect{server index}, Send{frame bytes}, Close{}, in the
//                   order they must be carried out. At most one connection
//                   exists at a time: Connect follows a Close or a reported
//                   disconnect. After Close{} the owner reports nothing more
//                   about that connection; stray calls that arrive anyway
//                   (a frame after Close, a second disconnect) are ignored
//                   with a note.
//   take_events()   Completed, WatchFired, SessionChanged, in the order the
//                   user must see them: a watch event precedes the
//                   completion of any response that arrived after it.
//   take_notes()    sentences for the log.
//
// Request ids. A RequestId names a user request for its whole life and is
// never reused. On the wire each frame carries its own request id, drawn at
// send time from one counter that only increases for the session's life
// (across reconnects too): a read re-sent after a reconnect gets a new one,
// and the server's (session, request id) dedupe never confuses two writes.
// Completed.response.request_id is the wire id of the answered frame (0 when
// the request never left the core).
//
// Outcomes (features.md §3, "Timeouts are indeterminate"):
//   ok       the server answered OK.
//   failed   the operation certainly did not happen: any error answer to a
//            read, or to a write except TIMEOUT / CONNECTION_LOSS; any
//            request that never left the core (LIMIT_EXCEEDED, TOO_LARGE,
//            TIMEOUT while waiting, SESSION_EXPIRED, BAD_ARGUMENTS).
//   unknown  a write that was sent and then lost (CONNECTION_LOSS), timed
//            out (TIMEOUT), or was in flight when the session expired
//            (SESSION_EXPIRED): it may have been applied. Writes are never
//            re-sent automatically; reads (and sync, check_fence, set/remove
//            watch: nothing replicated) are re-sent after a reconnect unless
//            their deadline has passed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/ids.h"
#include "base/prng.h"
#include "base/status.h"
#include "client/core/watch_set.h"
#include "protocol/codec.h"

namespace synod::client {

// ---- Limits (STYLE.md habit 6) ----

inline constexpr std::size_t servers_max = 64;
// Sent and unanswered on one connection. The replica answers LIMIT_EXCEEDED
// out of order above its pending_per_client_max (4096 by default), so the
// core never lets that many reach it.
inline constexpr std::uint32_t outstanding_max_limit = 4096;
// Submitted and not yet sent (while disconnected, or above outstanding_max).
inline constexpr std::uint32_t waiting_max_limit = 1u << 16;
// Keep-alives go out every timeout / keep_alive_divisor, busy or idle (only
// their answers extend safe_until); a
// server silent for timeout * silence_num / silence_den with requests
// outstanding is given up (ZooKeeper's ping and read timeouts).
inline constexpr std::int64_t keep_alive_divisor = 3;
inline constexpr std::int64_t silence_num = 2;
inline constexpr std::int64_t silence_den = 3;

static_assert(outstanding_max_limit <= 4096, "stay below the replica's per-connection bound");
static_assert(outstanding_max_limit <= waiting_max_limit);
static_assert(silence_num * keep_alive_divisor > silence_den,
              "a silent server is given up only after a keep-alive had time to be answered");
static_assert(silence_num < silence_den, "give up a silent server before the session expires");

struct ClientOptions {
  std::vector<std::string> servers;  // opaque addresses; Connect names an index
  std::int64_t session_timeout_ms = 10000;  // asked for; the server may clamp it
  std::int64_t request_timeout_ms = 10000;  // from submit to completion
  std::int64_t connect_timeout_ms = 3000;   // from Connect to the session answer
  std::int64_t backoff_min_ms = 50;         // before the first reconnect
  std::int64_t backoff_max_ms = 5000;       // the exponential backoff's ceiling
  std::uint32_t outstanding_max = 1024;     // <= outstanding_max_limit
  std::uint32_t waiting_max = 4096;         // <= waiting_max_limit

  // ok, or invalid with a sentence naming the first bad field.
  [[nodiscard]] base::CheckStatus validate() const;
};

using RequestId = StrongId<struct RequestIdTag, std::uint64_t>;

enum class Outcome : std::uint8_t { ok, failed, unknown };

struct Completed {
  RequestId id;
  protocol::Response response;
  Outcome outcome = Outcome::ok;
};
struct WatchFired {
  protocol::WatchEvent event;
};
// connected: the session was opened. disconnected: the connection is gone;
// the session may be alive until safe_until_ms() and perhaps longer (treat
// it as suspended). moved: the session is attached to a new connection; the
// core sets every watch it holds again there, before anything else it
// sends (watch_set.h: one-shot ones fire at once if their node changed
// meanwhile, persistent ones replay from last_zxid(), and one the new server
// cannot resume ends with a WatchFired of EventType::compacted). expired,
// closed: final.
enum class SessionStatus : std::uint8_t { connected, disconnected, moved, expired, closed };
struct SessionChanged {
  SessionStatus status = SessionStatus::connected;
  SessionId session{};
  std::size_t server = 0;
  std::string why;
};
using Event = std::variant<Completed, WatchFired, SessionChanged>;

struct Connect {
  std::size_t server = 0;  // index into ClientOptions::servers
};
struct Send {
  std::string bytes;  // one ClientFrame (encode_client), without length prefix
};
struct Close {};
using Action = std::variant<Connect, Send, Close>;

enum class Phase : std::uint8_t {
  idle,         // before start()
  backing_off,  // no connection; Connect at phase_deadline
  connecting,   // Connect issued, waiting for on_connected
  opening,      // OpenSession sent, waiting for its answer
  connected,    // the session is attached; requests flow
  expired,      // final
  closed,       // final
};

class SessionCore {
 public:
  // options.validate() must be ok (a configuration bug otherwise, asserted).
  // `prng` outlives the core and is its only randomness.
  SessionCore(ClientOptions options, base::Prng& prng);

  void start(std::int64_t now_ms);
  void on_connected(std::int64_t now_ms);
  void on_disconnected(std::int64_t now_ms);
  void on_frame(std::int64_t now_ms, std::string_view bytes);
  void on_tick(std::int64_t now_ms);
  // Any store operation: WriteRequest, MultiRequest, GetRequest,
  // ExistsRequest, ChildrenRequest, CheckFenceRequest, SyncRequest,
  // SetWatchRequest, RemoveWatchRequest. Anything else completes at once
  // with BAD_ARGUMENTS, and so does a one-shot SetWatchRequest with a
  // from_zxid (that form is the core's own, for a move). Waits (at most waiting_max) until a
  // connection can take it; its deadline is now_ms + timeout_ms, where timeout_ms is unset
  // (request_timeout_ms) or in [1, request_timeout_ms] (longer is clamped;
  // zero or less completes at once with BAD_ARGUMENTS).
  [[nodiscard]] RequestId submit(std::int64_t now_ms, protocol::ClientBody body,
                                 std::optional<std::int64_t> timeout_ms = std::nullopt);
  // Sends CloseSession after everything submitted before; completes when it
  // is answered (then SessionChanged closed). Later submits fail at once.
  // If the connection drops first the close completes CONNECTION_LOSS
  // (unknown) and the session is left to expire on its own.
  [[nodiscard]] RequestId close(std::int64_t now_ms);

  [[nodiscard]] std::vector<Action> take_actions();
  [[nodiscard]] std::vector<Event> take_events();
  [[nodiscard]] std::vector<std::string> take_notes();

  [[nodiscard]] Phase phase() const { return phase_; }
  [[nodiscard]] SessionId session() const { return session_; }
  // The highest zxid seen in any response or watch event.
  [[nodiscard]] Zxid last_zxid() const { return last_zxid_; }
  // The latest time until which the session (and its ephemerals) is
  // certainly alive: the send time of the latest request answered OK plus
  // the negotiated timeout (SessionResult: plus min(safe_for_ms, timeout)).
  // The server counts from when it heard the request, which is later. 0
  // before the session opens. Caveat: a sequential read answered by a
  // follower cut off from the leader counts too (the server vouches for it).
  [[nodiscard]] std::int64_t safe_until_ms() const { return safe_until_ms_; }
  [[nodiscard]] std::int64_t negotiated_timeout_ms() const { return timeout_ms_; }
  [[nodiscard]] std::size_t server() const { return server_; }
  [[nodiscard]] std::size_t outstanding() const { return in_flight_.size(); }
  [[nodiscard]] std::size_t waiting() const { return waiting_.size(); }
  // The watches the core would set again after a move.
  [[nodiscard]] const WatchSet& watches() const { return watches_; }
  // The earliest time on_tick has something to do; nullopt when final.
  [[nodiscard]] std::optional<std::int64_t> next_wakeup_ms() const;

 private:
  // rewatch: a SetWatchRequest of the core's own after a move (watches_).
  enum class Kind : std::uint8_t { read, write, open, keep_alive, close, rewatch };
  struct Request {
    RequestId id{};  // 0 for the core's own open and keep-alive
    Kind kind = Kind::read;
    protocol::ClientBody body;
    std::int64_t deadline_ms = 0;
    std::uint64_t wire_id = 0;  // set when sent
    std::int64_t sent_ms = 0;
    bool abandoned = false;  // completed by its deadline; the answer is dropped
  };

  // session_core.cpp: connections and the session.
  void connect(std::int64_t now_ms);
  void send_open(std::int64_t now_ms);
  void connection_failed(std::int64_t now_ms, const std::string& why);
  void connection_lost(std::int64_t now_ms, const std::string& why);
  void on_open_answer(std::int64_t now_ms, const Request& open, protocol::Response response);
  void on_session_event(std::int64_t now_ms, const protocol::SessionEvent& event);
  void end_session(Phase final_phase, const std::string& why, bool close_connection = true);
  void maybe_keep_alive(std::int64_t now_ms);
  void maybe_give_up_silent(std::int64_t now_ms);
  void note(std::string sentence) { notes_.push_back(std::move(sentence)); }
  void session_changed(SessionStatus status, std::string why);
  void extend_safe_until(const Request& request, const protocol::Response& response);

  // session_requests.cpp: requests, their order and outcomes.
  [[nodiscard]] bool send(std::int64_t now_ms, Request request);
  void flush(std::int64_t now_ms);
  void on_response(std::int64_t now_ms, protocol::Response response);
  void expire_requests(std::int64_t now_ms);
  // Reads go back to the front of waiting_, writes complete unknown; true
  // when a close was among them (it completes unknown too).
  [[nodiscard]] bool requeue_in_flight();
  void fail_all(protocol::Error error, const std::string& why);
  void complete(const Request& request, protocol::Response response);
  void complete_now(const Request& request, protocol::Error error, std::string why);
  [[nodiscard]] static Outcome outcome_of(Kind kind, const protocol::Status& status);
  [[nodiscard]] static std::optional<Kind> kind_of(const protocol::ClientBody& body);
  void see_zxid(Zxid zxid);
  // After a move: every watch again, ahead of everything waiting.
  void queue_rewatches(Zxid since);
  void on_rewatch_answer(const Request& request, const protocol::Response& response);
  void on_watch_event(protocol::WatchEvent event);

  ClientOptions options_;
  base::Prng& prng_;
  Phase phase_ = Phase::idle;
  std::size_t server_ = 0;
  std::uint32_t failures_ = 0;         // consecutive failed connections
  std::int64_t phase_deadline_ms_ = 0;  // backing_off: Connect; connecting/opening: give up
  bool closing_ = false;                // close() was called

  SessionId session_{};
  SessionSecret secret_{};       // from the open answer; sent on every move
  std::int64_t timeout_ms_ = 0;  // negotiated
  Zxid last_zxid_{};
  std::int64_t safe_until_ms_ = 0;
  std::uint64_t next_request_id_ = 0;
  std::uint64_t next_wire_id_ = 0;
  std::int64_t last_vouch_sent_ms_ = 0;  // the last keep-alive or open sent
  std::int64_t last_receive_ms_ = 0;
  bool keep_alive_in_flight_ = false;

  std::deque<Request> waiting_;    // submitted, not yet sent (submit order)
  std::deque<Request> in_flight_;  // sent on this connection (send order)
  // The zxid the rewatches of the last move are as of, until all are answered.
  std::optional<Zxid> rewatch_since_;
  WatchSet watches_;               // what the server holds for this session

  std::vector<Action> actions_;
  std::vector<Event> events_;
  std::vector<std::string> notes_;
};

}  // namespace synod::client
