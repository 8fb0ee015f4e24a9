// synod::Client (include/synod/client.h) over Engine. Each operation is
// written once, as a pair of pure functions:
//   prepare_*  its arguments -> the ClientBody to submit, or the Error that
//              keeps it from being sent (a bad path, a bad limit)
//   finish_*   the core's completion -> the Result<T> the caller sees
// The callback form (Impl::run) submits the body and hands the finished
// Result to the callback on the engine thread; the blocking form
// (Impl::block) is the callback form plus a wait on a std::future.
#include <algorithm>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <utility>

#include "client/core/session_core.h"
#include "client/engine.h"
#include "synod/client.h"

namespace synod {
namespace {

namespace core = synod::client;

static_assert(static_cast<std::int32_t>(ErrorCode::LIMIT_EXCEEDED) ==
                  static_cast<std::int32_t>(protocol::error_last),
              "ErrorCode mirrors protocol::Error");
static_assert(static_cast<int>(ErrorCode::NO_NODE) == static_cast<int>(protocol::Error::NO_NODE));
static_assert(static_cast<int>(ErrorCode::FENCED) == static_cast<int>(protocol::Error::FENCED));
static_assert(static_cast<int>(ErrorCode::CONNECTION_LOSS) ==
              static_cast<int>(protocol::Error::CONNECTION_LOSS));
// The public WatchKind (std-only, installed) is protocol::WatchKind value
// for value, so the casts between them below are exact.
static_assert(static_cast<int>(WatchKind::data) == static_cast<int>(protocol::WatchKind::data));
static_assert(static_cast<int>(WatchKind::children) ==
              static_cast<int>(protocol::WatchKind::children));
static_assert(static_cast<int>(WatchKind::exists) ==
              static_cast<int>(protocol::WatchKind::exists));
static_assert(static_cast<int>(WatchKind::persistent) ==
              static_cast<int>(protocol::WatchKind::persistent));
static_assert(static_cast<int>(WatchKind::persistent_recursive) ==
              static_cast<int>(protocol::WatchKind::persistent_recursive));
static_assert(static_cast<int>(NodeKind::ttl) == static_cast<int>(protocol::NodeKind::ttl));
static_assert(static_cast<int>(EventType::children_changed) ==
              static_cast<int>(protocol::EventType::children_changed));
static_assert(static_cast<int>(EventType::compacted) ==
              static_cast<int>(protocol::EventType::compacted));
static_assert(children_limit_max == protocol::children_page_max);
static_assert(multi_ops_max == protocol::multi_ops_max);
static_assert(servers_max == core::servers_max);

// How long the destructor waits for CloseSession's answer.
constexpr std::int64_t close_wait_ms = 2000;
// A blocking call waits this much longer than its request's timeout (which
// the core enforces), so the core's answer, with its exact outcome, arrives
// first; the wait's own TIMEOUT only covers an engine thread held up (by a
// slow callback, say).
constexpr std::int64_t core_deadline_slack_ms = 250;

Error make_error(ErrorCode code, std::string message, bool definite = true) {
  return Error(code, std::move(message), definite);
}

Stat to_stat(const protocol::Stat& s) {
  return Stat{s.czxid.value(),    s.mzxid.value(), s.pzxid.value(),
              s.ctime_ms,         s.mtime_ms,      s.version,
              s.cversion,         s.ephemeral_owner.value(), s.num_children,
              s.data_length};
}

Result<protocol::Path> parse_path(std::string_view text) {
  auto parsed = protocol::Path::parse(text);
  if (!parsed.ok()) {
    return make_error(ErrorCode::BAD_ARGUMENTS, parsed.status().message);
  }
  return std::move(parsed).value();
}

Result<std::optional<protocol::Fence>> to_fence(const std::optional<Fence>& fence) {
  if (!fence) return std::optional<protocol::Fence>{};
  auto path = parse_path(fence->path);
  if (!path.ok()) return path.error();
  return std::optional<protocol::Fence>{
      protocol::Fence{std::move(path).value(), Zxid{fence->token}}};
}

Result<protocol::Op> to_op(const CreateOp& op) {
  auto path = parse_path(op.path);
  if (!path.ok()) return path.error();
  return protocol::Op{protocol::CreateOp{
      std::move(path).value(), op.data, static_cast<protocol::NodeKind>(op.kind), op.sequential,
      op.ttl_ms, static_cast<protocol::MissingParents>(op.parents)}};
}
Result<protocol::Op> to_op(const DeleteOp& op) {
  auto path = parse_path(op.path);
  if (!path.ok()) return path.error();
  return protocol::Op{protocol::DeleteOp{std::move(path).value(), op.version}};
}
Result<protocol::Op> to_op(const SetOp& op) {
  auto path = parse_path(op.path);
  if (!path.ok()) return path.error();
  return protocol::Op{protocol::SetOp{std::move(path).value(), op.data, op.version}};
}
Result<protocol::Op> to_op(const CheckOp& op) {
  auto path = parse_path(op.path);
  if (!path.ok()) return path.error();
  return protocol::Op{protocol::CheckOp{std::move(path).value(), op.version}};
}

WatchEvent to_event(const protocol::WatchEvent& e) {
  return WatchEvent{static_cast<EventType>(e.event.type), e.event.path, e.event.zxid.value(),
                    e.watch_path.text(), static_cast<WatchKind>(e.watch_kind)};
}

std::vector<OpResult> to_op_results(std::vector<protocol::OpResult> results) {
  std::vector<OpResult> out;
  out.reserve(results.size());
  for (auto& r : results) {
    std::optional<Stat> stat;
    if (r.stat) stat = to_stat(*r.stat);
    out.push_back(OpResult{static_cast<ErrorCode>(r.error), std::move(r.path), stat});
  }
  return out;
}

// ---- prepare: arguments -> the request to submit ----

Result<protocol::ClientBody> write_body(Result<protocol::Op> op,
                                        const std::optional<Fence>& fence) {
  if (!op.ok()) return op.error();
  auto converted = to_fence(fence);
  if (!converted.ok()) return converted.error();
  return protocol::ClientBody{
      protocol::WriteRequest{std::move(converted).value(), std::move(op).value()}};
}

Result<protocol::ClientBody> prepare_create(std::string_view path, std::string_view data,
                                            const CreateOptions& o) {
  return write_body(to_op(CreateOp{std::string(path), std::string(data), o.kind, o.sequential,
                                   o.ttl_ms, o.parents}),
                    o.fence);
}

Result<protocol::ClientBody> prepare_set(std::string_view path, std::string_view data,
                                         const WriteOptions& o) {
  return write_body(to_op(SetOp{std::string(path), std::string(data), o.version}), o.fence);
}

Result<protocol::ClientBody> prepare_remove(std::string_view path, const WriteOptions& o) {
  return write_body(to_op(DeleteOp{std::string(path), o.version}), o.fence);
}

// GetRequest or ExistsRequest: the same three fields.
template <class Request>
Result<protocol::ClientBody> prepare_read(std::string_view path, const ReadOptions& o) {
  auto parsed = parse_path(path);
  if (!parsed.ok()) return parsed.error();
  return protocol::ClientBody{
      Request{std::move(parsed).value(), o.watch, static_cast<protocol::ReadMode>(o.consistency)}};
}

Result<protocol::ClientBody> prepare_children(std::string_view path, const ChildrenOptions& o) {
  if (o.limit == 0 || o.limit > children_limit_max) {
    return make_error(ErrorCode::BAD_ARGUMENTS, "limit must be in [1, children_limit_max]");
  }
  auto parsed = parse_path(path);
  if (!parsed.ok()) return parsed.error();
  return protocol::ClientBody{protocol::ChildrenRequest{
      std::move(parsed).value(), o.read.watch, static_cast<protocol::ReadMode>(o.read.consistency),
      o.after, o.limit}};
}

Result<protocol::ClientBody> prepare_multi(const std::vector<MultiOp>& ops,
                                           const std::optional<Fence>& fence) {
  if (ops.size() > multi_ops_max) {
    return make_error(ErrorCode::BAD_ARGUMENTS, "more than multi_ops_max ops");
  }
  protocol::MultiRequest command;
  auto outer = to_fence(fence);
  if (!outer.ok()) return outer.error();
  command.fence = std::move(outer).value();
  for (const auto& op : ops) {
    auto converted = std::visit([](const auto& o) { return to_op(o); }, op.op);
    if (!converted.ok()) return converted.error();
    auto op_fence = to_fence(op.fence);
    if (!op_fence.ok()) return op_fence.error();
    command.ops.push_back(
        protocol::MultiOp{std::move(converted).value(), std::move(op_fence).value()});
  }
  return protocol::ClientBody{std::move(command)};
}

Result<protocol::ClientBody> prepare_check_fence(const Fence& fence) {
  auto converted = to_fence(fence);
  if (!converted.ok()) return converted.error();
  return protocol::ClientBody{protocol::CheckFenceRequest{std::move(*converted.value())}};
}

// ---- finish: the core's completion -> Result<T> ----

// The outcome decides `definite`; a refused multi keeps its per-op results.
Result<protocol::Response> to_response(core::Completed done) {
  if (done.outcome == core::Outcome::ok) return std::move(done.response);
  Error error = make_error(static_cast<ErrorCode>(done.response.status.error),
                           std::move(done.response.status.message),
                           done.outcome == core::Outcome::failed);
  if (auto* multi = std::get_if<protocol::MultiResult>(&done.response.body)) {
    error.multi_results = to_op_results(std::move(multi->results));
  }
  return error;
}

template <class Body>
Result<Body> body_of(Result<protocol::Response> response) {
  if (!response.ok()) return response.error();
  if (auto* body = std::get_if<Body>(&response.value().body)) return std::move(*body);
  return make_error(ErrorCode::UNIMPLEMENTED, "the server answered with an unexpected body");
}

Result<Created> finish_create(Result<protocol::Response> response) {
  auto result = body_of<protocol::CreateResult>(std::move(response));
  if (!result.ok()) return result.error();
  return Created{std::move(result.value().path), to_stat(result.value().stat)};
}

Result<Data> finish_get(Result<protocol::Response> response) {
  auto result = body_of<protocol::DataResult>(std::move(response));
  if (!result.ok()) return result.error();
  auto& d = result.value();
  return Data{std::move(d.data), to_stat(d.stat), static_cast<NodeKind>(d.kind), d.ttl_ms};
}

Result<std::optional<Stat>> finish_exists(Result<protocol::Response> response) {
  auto result = body_of<protocol::StatResult>(std::move(response));
  if (!result.ok()) {
    if (result.error().code == ErrorCode::NO_NODE) return std::optional<Stat>{};
    return result.error();
  }
  return std::optional<Stat>{to_stat(result.value().stat)};
}

Result<ChildrenPage> finish_children(Result<protocol::Response> response) {
  auto result = body_of<protocol::ChildrenResult>(std::move(response));
  if (!result.ok()) return result.error();
  ChildrenPage page;
  page.children.reserve(result.value().entries.size());
  for (auto& entry : result.value().entries) {
    page.children.push_back(Child{std::move(entry.name), to_stat(entry.stat)});
  }
  page.next_after = std::move(result.value().next_after);
  return page;
}

Result<Stat> finish_set(Result<protocol::Response> response) {
  auto result = body_of<protocol::StatResult>(std::move(response));
  if (!result.ok()) return result.error();
  return to_stat(result.value().stat);
}

Result<Done> finish_done(Result<protocol::Response> response) {
  if (!response.ok()) return response.error();
  return Done{};
}

Result<std::vector<OpResult>> finish_multi(Result<protocol::Response> response) {
  auto result = body_of<protocol::MultiResult>(std::move(response));
  if (!result.ok()) return result.error();
  return to_op_results(std::move(result.value().results));
}

Result<std::uint64_t> finish_check_fence(Result<protocol::Response> response) {
  auto result = body_of<protocol::FenceResult>(std::move(response));
  if (!result.ok()) return result.error();
  return result.value().token.value();
}

template <class T>
using Finish = Result<T> (*)(Result<protocol::Response>);

std::string joined(const std::vector<std::string>& servers) {
  std::string out;
  for (const auto& s : servers) out += (out.empty() ? "" : ",") + s;
  return out;
}

Error open_failed(const ClientOptions& options) {
  return make_error(ErrorCode::CONNECTION_LOSS, "no server of " + joined(options.servers) +
                                                    " opened a session within " +
                                                    std::to_string(options.open_wait_ms) + " ms");
}

}  // namespace

std::string_view error_name(ErrorCode code) {
  return protocol::error_name(static_cast<protocol::Error>(code));
}

std::string_view node_kind_name(NodeKind kind) {
  switch (kind) {
    case NodeKind::persistent: return "persistent";
    case NodeKind::ephemeral: return "ephemeral";
    case NodeKind::container: return "container";
    case NodeKind::ttl: return "ttl";
  }
  return "unknown";
}

std::string_view event_type_name(EventType type) {
  switch (type) {
    case EventType::created: return "CREATED";
    case EventType::deleted: return "DELETED";
    case EventType::data_changed: return "DATA_CHANGED";
    case EventType::children_changed: return "CHILDREN_CHANGED";
    case EventType::compacted: return "COMPACTED";
  }
  return "UNKNOWN";
}

std::string_view session_state_name(SessionState state) {
  switch (state) {
    case SessionState::connecting: return "connecting";
    case SessionState::connected: return "connected";
    case SessionState::suspended: return "suspended";
    case SessionState::expired: return "expired";
    case SessionState::closed: return "closed";
  }
  return "unknown";
}

std::vector<std::string> split_servers(std::string_view list) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= list.size()) {
    const auto comma = list.find(',', start);
    const auto end = comma == std::string_view::npos ? list.size() : comma;
    std::string item(list.substr(start, end - start));
    while (!item.empty() && item.back() == ' ') item.pop_back();
    while (!item.empty() && item.front() == ' ') item.erase(item.begin());
    if (!item.empty()) out.push_back(std::move(item));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

std::string validate(const ClientOptions& options) {
  if (options.servers.empty()) return "servers is empty; give at least one HOST:PORT";
  if (options.servers.size() > servers_max) return "more than servers_max servers";
  for (const auto& server : options.servers) {
    const auto colon = server.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == server.size()) {
      return "server '" + server + "' is not HOST:PORT";
    }
  }
  if (options.session_timeout_ms < 3 ||
      options.session_timeout_ms > protocol::session_timeout_ms_limit) {
    return "session_timeout_ms must be in [3, 86400000]";
  }
  if (options.request_timeout_ms <= 0) return "request_timeout_ms must be positive";
  if (options.connect_timeout_ms <= 0) return "connect_timeout_ms must be positive";
  if (options.open_wait_ms <= 0) return "open_wait_ms must be positive";
  return "";
}

class Client::Impl {
 public:
  explicit Impl(ClientOptions options) : options_(std::move(options)) {}
  // The engine stops first: its last callbacks use the members below.
  ~Impl() {
    if (engine_) engine_->stop();
  }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  void start() {
    core::ClientOptions core_options;
    core_options.servers = options_.servers;
    core_options.session_timeout_ms = options_.session_timeout_ms;
    core_options.request_timeout_ms = options_.request_timeout_ms;
    core_options.connect_timeout_ms = options_.connect_timeout_ms;
    core::EngineHandlers handlers;
    handlers.on_watch = [this](const protocol::WatchEvent& e) { on_watch(e); };
    handlers.on_session = [this](const core::SessionChanged& c) { on_session(c); };
    std::random_device device;
    const std::uint64_t seed = (std::uint64_t{device()} << 32) | device();
    // Assigned before it starts: its thread calls on_session (which reads
    // engine_) as soon as the session changes.
    engine_ = std::make_unique<core::Engine>(std::move(core_options), std::move(handlers), seed);
    engine_->start();
  }

  // Waits for the session's first answer: true when it opened.
  bool wait_open() {
    std::unique_lock lock(mutex_);
    return opened_cv_.wait_for(lock, std::chrono::milliseconds(options_.open_wait_ms),
                               [this] { return opened_ || final_; }) &&
           opened_;
  }

  // Hands `self` (which owns this Impl) to `done` once the session opens;
  // an error instead when it does not within open_wait_ms, and `self` is
  // then destroyed on the engine thread (~Client hands the join to a thread
  // of its own).
  void open_async(std::unique_ptr<Client> self, Callback<std::unique_ptr<Client>> done) {
    // Shared only to travel in a copyable std::function.
    auto opening = std::make_shared<Opening>(Opening{std::move(self), std::move(done)});
    start();
    // From here on only the engine thread touches this Impl: the Client may
    // be handed out (and destroyed) as soon as the session opens.
    engine_->post([this, opening] {
      opening_ = std::move(*opening);
      engine_->after(options_.open_wait_ms, [this] { maybe_finish_open(true); });
      maybe_finish_open(false);
    });
  }

  // Closes the session (see close()) and stops the engine, completing what
  // is still pending. Not on the engine thread.
  void shut_down() {
    close();
    engine_->stop();
  }

  bool on_engine_thread() const { return engine_ && engine_->on_engine_thread(); }

  // ---- the two forms of every operation ----

  // The callback form: submits `body` and hands finish(answer) to `done` on
  // the engine thread; an Error that kept the request from being sent goes
  // there too.
  template <class T>
  void run(Result<protocol::ClientBody> body, std::optional<std::int64_t> timeout_ms,
           Finish<T> finish, Callback<T> done) {
    if (!body.ok()) return fail(std::move(done), body.error());
    if (timeout_ms && *timeout_ms <= 0) {
      return fail(std::move(done), make_error(ErrorCode::BAD_ARGUMENTS,
                                              "timeout_ms must be positive, not " +
                                                  std::to_string(*timeout_ms)));
    }
    engine_->submit(
        std::move(body).value(),
        [finish, done = std::move(done)](core::Completed completed) {
          if (done) done(finish(to_response(std::move(completed))));
        },
        timeout_ms);
  }

  template <class T>
  void fail(Callback<T> done, Error error) {
    engine_->post([done = std::move(done), error = std::move(error)] {
      if (done) done(error);
    });
  }

  // The blocking form: `start(callback)` begins the callback form; this
  // waits for the callback, or for the request's timeout (clamped to
  // request_timeout_ms) plus core_deadline_slack_ms. Not bounded: wait for
  // the callback however long (all_children: the core bounds each page).
  template <class T, class Start>
  Result<T> block(std::optional<std::int64_t> timeout_ms, bool is_write, Start&& start,
                  bool bounded = true) {
    if (engine_->on_engine_thread()) {
      return make_error(ErrorCode::BAD_ARGUMENTS,
                        "a blocking call from a callback on the client thread would wait for "
                        "itself; use the callback form");
    }
    auto promise = std::make_shared<std::promise<Result<T>>>();
    auto future = promise->get_future();
    start(Callback<T>([promise](Result<T> result) { promise->set_value(std::move(result)); }));
    if (!bounded) return future.get();
    std::int64_t span_ms = options_.request_timeout_ms;
    if (timeout_ms && *timeout_ms > 0) span_ms = std::min(span_ms, *timeout_ms);
    const std::int64_t wait_ms = span_ms + core_deadline_slack_ms;
    if (future.wait_for(std::chrono::milliseconds(wait_ms)) != std::future_status::ready) {
      return make_error(ErrorCode::TIMEOUT,
                        "no answer within " + std::to_string(wait_ms) + " ms" +
                            (is_write ? "; the write may still be applied" : ""),
                        !is_write);
    }
    return future.get();
  }

  // all_children: one page after another, each a read of its own.
  struct AllChildren {
    std::string path;
    std::size_t max = 0;
    ChildrenOptions page;
    std::vector<Child> all;
    Callback<std::vector<Child>> done;
  };
  void next_page(std::shared_ptr<AllChildren> state) {
    auto body = prepare_children(state->path, state->page);
    const auto timeout_ms = state->page.read.timeout_ms;
    run<ChildrenPage>(std::move(body), timeout_ms, finish_children,
                      [this, state](Result<ChildrenPage> page) {
                        if (!page.ok()) return finish_all(*state, page.error());
                        for (auto& child : page.value().children) {
                          state->all.push_back(std::move(child));
                        }
                        if (state->all.size() > state->max) {
                          return finish_all(*state,
                                            make_error(ErrorCode::LIMIT_EXCEEDED,
                                                       state->path + " has more than " +
                                                           std::to_string(state->max) +
                                                           " children"));
                        }
                        if (!page.value().next_after) {
                          return finish_all(*state, std::move(state->all));
                        }
                        state->page.after = std::move(*page.value().next_after);
                        state->page.read.watch = false;  // one watch is enough
                        next_page(state);
                      });
  }
  static void finish_all(AllChildren& state, Result<std::vector<Child>> result) {
    if (state.done) state.done(std::move(result));
  }

  // set_watch: the callback is registered before the request goes, so a
  // replay (from_zxid) finds it; a refusal undoes this registration only.
  void set_watch(std::string_view path, WatchKind kind, WatchCallback callback,
                 std::optional<std::uint64_t> from_zxid, Callback<Done> done) {
    auto parsed = parse_path(path);
    if (!parsed.ok()) return fail(std::move(done), parsed.error());
    std::string key = parsed.value().text();
    const std::uint64_t generation = add_watch(key, kind, std::move(callback));
    std::optional<Zxid> from;
    if (from_zxid) from = Zxid{*from_zxid};
    run<Done>(protocol::ClientBody{protocol::SetWatchRequest{
                  std::move(parsed).value(), static_cast<protocol::WatchKind>(kind), from}},
              std::nullopt, finish_done,
              [this, key = std::move(key), kind, generation,
               done = std::move(done)](Result<Done> result) {
                if (!result.ok()) drop_watch(key, kind, generation);
                if (done) done(std::move(result));
              });
  }

  void remove_watch(std::string_view path, WatchKind kind, Callback<Done> done) {
    auto parsed = parse_path(path);
    if (!parsed.ok()) return fail(std::move(done), parsed.error());
    drop_watch(parsed.value().text(), kind, std::nullopt);
    run<Done>(protocol::ClientBody{protocol::RemoveWatchRequest{
                  std::move(parsed).value(), static_cast<protocol::WatchKind>(kind)}},
              std::nullopt, finish_done, std::move(done));
  }

  std::uint64_t add_listener(SessionCallback listener) {
    std::lock_guard lock(mutex_);
    const std::uint64_t id = ++next_listener_;
    listeners_.emplace(id, std::move(listener));
    return id;
  }
  void remove_listener(std::uint64_t id) {
    std::lock_guard lock(mutex_);
    listeners_.erase(id);
  }

  core::Engine& engine() { return *engine_; }
  const ClientOptions& options() const { return options_; }

 private:
  struct Registration {
    WatchCallback callback;
    std::uint64_t generation = 0;
  };
  struct Opening {
    std::unique_ptr<Client> client;
    Callback<std::unique_ptr<Client>> done;
  };

  std::uint64_t add_watch(const std::string& path, WatchKind kind, WatchCallback callback) {
    std::lock_guard lock(mutex_);
    const std::uint64_t generation = ++next_generation_;
    watches_[{path, kind}] = Registration{std::move(callback), generation};
    return generation;
  }
  // generation unset: whichever is registered.
  void drop_watch(const std::string& path, WatchKind kind,
                  std::optional<std::uint64_t> generation) {
    std::lock_guard lock(mutex_);
    const auto it = watches_.find({path, kind});
    if (it == watches_.end()) return;
    if (!generation || it->second.generation == *generation) watches_.erase(it);
  }

  void close() {
    const auto snap = engine_->snapshot();
    if (snap.phase == core::Phase::expired || snap.phase == core::Phase::closed) return;
    if (snap.session.value() == 0) return;
    auto promise = std::make_shared<std::promise<void>>();
    auto future = promise->get_future();
    engine_->close([promise](core::Completed) { promise->set_value(); });
    (void)future.wait_for(std::chrono::milliseconds(close_wait_ms));
  }

  // Engine thread. connect's callback form: the session opened, ended, or
  // open_wait_ms passed. Last thing its callers do: on failure the Client,
  // and with it this Impl, is handed to a thread that destroys it.
  void maybe_finish_open(bool deadline_passed) {
    if (!opening_) return;
    bool opened = false;
    bool over = false;
    {
      std::lock_guard lock(mutex_);
      opened = opened_;
      over = final_;
    }
    if (!opened && !over && !deadline_passed) return;
    Opening opening = std::move(*opening_);
    opening_.reset();
    if (opened) {
      if (opening.done) opening.done(std::move(opening.client));
      return;
    }
    if (opening.done) opening.done(open_failed(options_));
    opening.client.reset();
  }

  // Engine thread. Every registration the event fires gets it, labelled
  // with that registration (WatchEvent::watch_path says which); a one-shot
  // one is then gone, as on the server. An event that names a persistent
  // registration (a replay from a zxid: the others had it live) goes to that
  // one only; a compacted event too, and that registration ends. An event no
  // registration takes (a one-shot watch left by a read) goes to the default
  // watcher as it came.
  void on_watch(const protocol::WatchEvent& e) {
    const WatchEvent event = to_event(e);
    const bool named_only = event.type == EventType::compacted ||
                            event.watch_kind == WatchKind::persistent ||
                            event.watch_kind == WatchKind::persistent_recursive;
    std::vector<std::pair<WatchCallback, WatchEvent>> calls;
    {
      std::lock_guard lock(mutex_);
      for (auto it = watches_.begin(); it != watches_.end();) {
        const auto& [path, kind] = it->first;
        const auto protocol_kind = static_cast<protocol::WatchKind>(kind);
        const bool named = path == event.watch_path && kind == event.watch_kind;
        const bool fires = named_only ? named : core::watch_fires(protocol_kind, path, e.event);
        if (!fires) {
          ++it;
          continue;
        }
        WatchEvent labelled = event;
        labelled.watch_path = path;
        labelled.watch_kind = kind;
        calls.emplace_back(it->second.callback, std::move(labelled));
        const bool ends = event.type == EventType::compacted || core::is_one_shot(protocol_kind);
        it = ends ? watches_.erase(it) : std::next(it);
      }
    }
    if (calls.empty() && options_.default_watcher) {
      calls.emplace_back(options_.default_watcher, event);
    }
    for (const auto& [callback, labelled] : calls) {
      if (callback) callback(labelled);
    }
  }

  // Engine thread. (A moved session's watches are set again by the core,
  // client/core/watch_set.h.)
  void on_session(const core::SessionChanged& changed) {
    SessionState state = SessionState::connecting;
    switch (changed.status) {
      case core::SessionStatus::connected:
      case core::SessionStatus::moved: state = SessionState::connected; break;
      case core::SessionStatus::disconnected: state = SessionState::suspended; break;
      case core::SessionStatus::expired: state = SessionState::expired; break;
      case core::SessionStatus::closed: state = SessionState::closed; break;
    }
    std::vector<std::uint64_t> listeners;
    {
      std::lock_guard lock(mutex_);
      if (state == SessionState::connected) opened_ = true;
      if (state == SessionState::expired || state == SessionState::closed) final_ = true;
      for (const auto& [id, listener] : listeners_) listeners.push_back(id);
    }
    opened_cv_.notify_all();
    if (options_.session_watcher) options_.session_watcher(state, changed.why);
    // Looked up one at a time: a listener removed by an earlier one (on
    // this thread) does not run.
    for (const std::uint64_t id : listeners) {
      SessionCallback listener;
      {
        std::lock_guard lock(mutex_);
        const auto it = listeners_.find(id);
        if (it == listeners_.end()) continue;
        listener = it->second;
      }
      if (listener) listener(state, changed.why);
    }
    maybe_finish_open(false);
  }

  ClientOptions options_;
  std::unique_ptr<core::Engine> engine_;
  std::optional<Opening> opening_;  // engine thread only
  std::mutex mutex_;                // guards the members below
  std::condition_variable opened_cv_;
  bool opened_ = false;
  bool final_ = false;
  std::map<std::pair<std::string, WatchKind>, Registration> watches_;
  std::uint64_t next_generation_ = 0;
  std::map<std::uint64_t, SessionCallback> listeners_;
  std::uint64_t next_listener_ = 0;
};

Result<std::unique_ptr<Client>> Client::connect(ClientOptions options) {
  const std::string invalid = validate(options);
  if (!invalid.empty()) return make_error(ErrorCode::BAD_ARGUMENTS, invalid);
  auto impl = std::make_unique<Impl>(std::move(options));
  impl->start();
  if (!impl->wait_open()) return open_failed(impl->options());
  return std::unique_ptr<Client>(new Client(std::move(impl)));
}

void Client::connect(ClientOptions options, Callback<std::unique_ptr<Client>> done) {
  const std::string invalid = validate(options);
  if (!invalid.empty()) {
    if (done) done(make_error(ErrorCode::BAD_ARGUMENTS, invalid));
    return;
  }
  auto impl = std::make_unique<Impl>(std::move(options));
  Impl* raw = impl.get();
  raw->open_async(std::unique_ptr<Client>(new Client(std::move(impl))), std::move(done));
}

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

// On the client thread (a callback dropped its Client) the thread cannot
// join itself: a thread of the Client's own closes and joins it instead.
Client::~Client() {
  if (!impl_) return;
  if (impl_->on_engine_thread()) {
    std::thread([impl = std::move(impl_)] { impl->shut_down(); }).detach();
    return;
  }
  impl_->shut_down();
}

Result<Created> Client::create(std::string_view path, std::string_view data,
                               const CreateOptions& options) {
  return impl_->block<Created>(options.timeout_ms, true, [&](Callback<Created> done) {
    create(path, data, options, std::move(done));
  });
}
void Client::create(std::string_view path, std::string_view data, const CreateOptions& options,
                    Callback<Created> done) {
  impl_->run(prepare_create(path, data, options), options.timeout_ms, finish_create,
             std::move(done));
}

Result<Data> Client::get(std::string_view path, const ReadOptions& options) {
  return impl_->block<Data>(options.timeout_ms, false,
                            [&](Callback<Data> done) { get(path, options, std::move(done)); });
}
void Client::get(std::string_view path, const ReadOptions& options, Callback<Data> done) {
  impl_->run(prepare_read<protocol::GetRequest>(path, options), options.timeout_ms, finish_get,
             std::move(done));
}

Result<std::optional<Stat>> Client::exists(std::string_view path, const ReadOptions& options) {
  return impl_->block<std::optional<Stat>>(
      options.timeout_ms, false,
      [&](Callback<std::optional<Stat>> done) { exists(path, options, std::move(done)); });
}
void Client::exists(std::string_view path, const ReadOptions& options,
                    Callback<std::optional<Stat>> done) {
  impl_->run(prepare_read<protocol::ExistsRequest>(path, options), options.timeout_ms,
             finish_exists, std::move(done));
}

Result<ChildrenPage> Client::children(std::string_view path, const ChildrenOptions& options) {
  return impl_->block<ChildrenPage>(
      options.read.timeout_ms, false,
      [&](Callback<ChildrenPage> done) { children(path, options, std::move(done)); });
}
void Client::children(std::string_view path, const ChildrenOptions& options,
                      Callback<ChildrenPage> done) {
  impl_->run(prepare_children(path, options), options.read.timeout_ms, finish_children,
             std::move(done));
}

// Unbounded wait: each page is bounded by its own timeout in the core.
Result<std::vector<Child>> Client::all_children(std::string_view path, std::size_t max,
                                                const ReadOptions& options) {
  return impl_->block<std::vector<Child>>(
      options.timeout_ms, false,
      [&](Callback<std::vector<Child>> done) { all_children(path, max, options, std::move(done)); },
      false);
}
void Client::all_children(std::string_view path, std::size_t max, const ReadOptions& options,
                          Callback<std::vector<Child>> done) {
  auto state = std::make_shared<Impl::AllChildren>();
  state->path = std::string(path);
  state->max = max;
  state->page = ChildrenOptions{options, "", children_limit_max};
  state->done = std::move(done);
  impl_->next_page(std::move(state));
}

Result<Stat> Client::set(std::string_view path, std::string_view data,
                         const WriteOptions& options) {
  return impl_->block<Stat>(options.timeout_ms, true, [&](Callback<Stat> done) {
    set(path, data, options, std::move(done));
  });
}
void Client::set(std::string_view path, std::string_view data, const WriteOptions& options,
                 Callback<Stat> done) {
  impl_->run(prepare_set(path, data, options), options.timeout_ms, finish_set, std::move(done));
}

Result<Done> Client::remove(std::string_view path, const WriteOptions& options) {
  return impl_->block<Done>(options.timeout_ms, true,
                            [&](Callback<Done> done) { remove(path, options, std::move(done)); });
}
void Client::remove(std::string_view path, const WriteOptions& options, Callback<Done> done) {
  impl_->run(prepare_remove(path, options), options.timeout_ms, finish_done, std::move(done));
}

Result<std::vector<OpResult>> Client::multi(const std::vector<MultiOp>& ops,
                                            std::optional<Fence> fence,
                                            std::optional<std::int64_t> timeout_ms) {
  return impl_->block<std::vector<OpResult>>(
      timeout_ms, true, [&](Callback<std::vector<OpResult>> done) {
        multi(ops, fence, timeout_ms, std::move(done));
      });
}
void Client::multi(const std::vector<MultiOp>& ops, std::optional<Fence> fence,
                   std::optional<std::int64_t> timeout_ms, Callback<std::vector<OpResult>> done) {
  impl_->run(prepare_multi(ops, fence), timeout_ms, finish_multi, std::move(done));
}

Result<Done> Client::sync(std::optional<std::int64_t> timeout_ms) {
  return impl_->block<Done>(timeout_ms, false,
                            [&](Callback<Done> done) { sync(timeout_ms, std::move(done)); });
}
void Client::sync(std::optional<std::int64_t> timeout_ms, Callback<Done> done) {
  impl_->run(Result<protocol::ClientBody>(protocol::ClientBody{protocol::SyncRequest{}}),
             timeout_ms, finish_done, std::move(done));
}

Result<std::uint64_t> Client::check_fence(const Fence& fence,
                                          std::optional<std::int64_t> timeout_ms) {
  return impl_->block<std::uint64_t>(timeout_ms, false, [&](Callback<std::uint64_t> done) {
    check_fence(fence, timeout_ms, std::move(done));
  });
}
void Client::check_fence(const Fence& fence, std::optional<std::int64_t> timeout_ms,
                         Callback<std::uint64_t> done) {
  impl_->run(prepare_check_fence(fence), timeout_ms, finish_check_fence, std::move(done));
}

Result<Done> Client::set_watch(std::string_view path, WatchKind kind, WatchCallback callback,
                               std::optional<std::uint64_t> from_zxid) {
  return impl_->block<Done>(std::nullopt, false, [&](Callback<Done> done) {
    set_watch(path, kind, std::move(callback), from_zxid, std::move(done));
  });
}
void Client::set_watch(std::string_view path, WatchKind kind, WatchCallback callback,
                       std::optional<std::uint64_t> from_zxid, Callback<Done> done) {
  impl_->set_watch(path, kind, std::move(callback), from_zxid, std::move(done));
}

Result<Done> Client::remove_watch(std::string_view path, WatchKind kind) {
  return impl_->block<Done>(
      std::nullopt, false, [&](Callback<Done> done) { remove_watch(path, kind, std::move(done)); });
}
void Client::remove_watch(std::string_view path, WatchKind kind, Callback<Done> done) {
  impl_->remove_watch(path, kind, std::move(done));
}

std::uint64_t Client::add_session_listener(SessionCallback listener) {
  return impl_->add_listener(std::move(listener));
}
void Client::remove_session_listener(std::uint64_t id) { impl_->remove_listener(id); }

SessionState Client::state() const {
  const auto snap = impl_->engine().snapshot();
  switch (snap.phase) {
    case core::Phase::connected: return SessionState::connected;
    case core::Phase::expired: return SessionState::expired;
    case core::Phase::closed: return SessionState::closed;
    default: break;
  }
  return snap.session.value() == 0 ? SessionState::connecting : SessionState::suspended;
}

std::uint64_t Client::session_id() const { return impl_->engine().snapshot().session.value(); }
std::uint64_t Client::last_zxid() const { return impl_->engine().snapshot().last_zxid.value(); }
std::int64_t Client::negotiated_timeout_ms() const {
  return impl_->engine().snapshot().timeout_ms;
}

std::chrono::steady_clock::time_point Client::safe_until() const {
  const auto snap = impl_->engine().snapshot();
  if (snap.safe_until_ms == 0) return {};
  return std::chrono::steady_clock::now() +
         std::chrono::milliseconds(snap.safe_until_ms - impl_->engine().now_ms());
}

std::string Client::server() const {
  const auto snap = impl_->engine().snapshot();
  return impl_->options().servers.at(snap.server);
}

bool Client::on_client_thread() const { return impl_->on_engine_thread(); }

}  // namespace synod
