// synod::Client (include/synod/client.h): the blocking API over Engine.
// Each call parses its paths, submits one ClientBody, and waits on a
// std::future for the core's completion or the request's own deadline.
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <utility>

#include "client/core/session_core.h"
#include "client/engine.h"
#include "server/store/types.h"
#include "synod/client.h"

namespace synod {
namespace {

namespace core = synod::client;

static_assert(static_cast<std::int32_t>(ErrorCode::LIMIT_EXCEEDED) ==
                  static_cast<std::int32_t>(store::error_last),
              "ErrorCode mirrors store::Error");
static_assert(static_cast<int>(ErrorCode::NO_NODE) == static_cast<int>(store::Error::NO_NODE));
static_assert(static_cast<int>(ErrorCode::FENCED) == static_cast<int>(store::Error::FENCED));
static_assert(static_cast<int>(ErrorCode::CONNECTION_LOSS) ==
              static_cast<int>(store::Error::CONNECTION_LOSS));
static_assert(static_cast<int>(WatchKind::persistent_recursive) ==
              static_cast<int>(codec::WatchKind::persistent_recursive));
static_assert(static_cast<int>(NodeKind::ttl) == static_cast<int>(store::NodeKind::ttl));
static_assert(static_cast<int>(EventType::children_changed) ==
              static_cast<int>(store::EventType::children_changed));
static_assert(children_limit_max == store::children_page_max);
static_assert(multi_ops_max == store::multi_ops_max);
static_assert(servers_max == core::servers_max);

// How long the destructor waits for CloseSession's answer.
constexpr std::int64_t close_wait_ms = 2000;
// A request whose deadline is the core's own waits this much longer, so the
// core's answer (with its exact outcome) arrives first.
constexpr std::int64_t core_deadline_slack_ms = 250;

Error make_error(ErrorCode code, std::string message, bool definite = true) {
  return Error{code, std::move(message), definite};
}

Stat to_stat(const store::Stat& s) {
  return Stat{s.czxid.value(),    s.mzxid.value(), s.pzxid.value(),
              s.ctime_ms,         s.mtime_ms,      s.version,
              s.cversion,         s.ephemeral_owner.value(), s.num_children,
              s.data_length};
}

Result<store::Path> parse_path(std::string_view text) {
  auto parsed = store::Path::parse(text);
  if (!parsed.ok()) {
    return make_error(ErrorCode::BAD_ARGUMENTS, parsed.status().message);
  }
  return std::move(parsed).value();
}

Result<std::optional<store::Fence>> to_fence(const std::optional<Fence>& fence) {
  if (!fence) return std::optional<store::Fence>{};
  auto path = parse_path(fence->path);
  if (!path.ok()) return path.error();
  return std::optional<store::Fence>{store::Fence{std::move(path).value(), Zxid{fence->token}}};
}

Result<store::Op> to_op(const CreateOp& op) {
  auto path = parse_path(op.path);
  if (!path.ok()) return path.error();
  return store::Op{store::CreateOp{std::move(path).value(), op.data,
                                   static_cast<store::NodeKind>(op.kind), op.sequential, op.ttl_ms,
                                   static_cast<store::MissingParents>(op.parents)}};
}
Result<store::Op> to_op(const DeleteOp& op) {
  auto path = parse_path(op.path);
  if (!path.ok()) return path.error();
  return store::Op{store::DeleteOp{std::move(path).value(), op.version}};
}
Result<store::Op> to_op(const SetOp& op) {
  auto path = parse_path(op.path);
  if (!path.ok()) return path.error();
  return store::Op{store::SetOp{std::move(path).value(), op.data, op.version}};
}
Result<store::Op> to_op(const CheckOp& op) {
  auto path = parse_path(op.path);
  if (!path.ok()) return path.error();
  return store::Op{store::CheckOp{std::move(path).value(), op.version}};
}

WatchEvent to_event(const codec::WatchEvent& e) {
  return WatchEvent{static_cast<EventType>(e.event.type), e.event.path, e.event.zxid.value(),
                    e.watch_path.text(), static_cast<WatchKind>(e.watch_kind)};
}

}  // namespace

std::string_view error_name(ErrorCode code) {
  return store::error_name(static_cast<store::Error>(code));
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
  if (options.session_timeout_ms < 3 || options.session_timeout_ms > core::session_timeout_max_ms) {
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

  void start() {
    core::ClientOptions core_options;
    core_options.servers = options_.servers;
    core_options.session_timeout_ms = options_.session_timeout_ms;
    core_options.request_timeout_ms = options_.request_timeout_ms;
    core_options.connect_timeout_ms = options_.connect_timeout_ms;
    core::EngineHandlers handlers;
    handlers.on_watch = [this](const codec::WatchEvent& e) { on_watch(e); };
    handlers.on_session = [this](const core::SessionChanged& c) { on_session(c); };
    std::random_device device;
    const std::uint64_t seed = (std::uint64_t{device()} << 32) | device();
    engine_ = std::make_unique<core::Engine>(std::move(core_options), std::move(handlers), seed);
  }

  // Waits for the session's first answer: true when it opened.
  bool wait_open() {
    std::unique_lock lock(mutex_);
    return opened_cv_.wait_for(lock, std::chrono::milliseconds(options_.open_wait_ms),
                               [this] { return opened_ || final_; }) &&
           opened_;
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

  // Submits `body` and waits for its answer or `timeout_ms`.
  Result<codec::Response> call(codec::ClientBody body, std::optional<std::int64_t> timeout_ms,
                               bool is_write) {
    if (engine_->on_engine_thread()) {
      return make_error(ErrorCode::BAD_ARGUMENTS,
                        "a blocking call from a watch or session callback would wait for itself");
    }
    std::int64_t wait_ms = options_.request_timeout_ms + core_deadline_slack_ms;
    if (timeout_ms) {
      if (*timeout_ms <= 0) return make_error(ErrorCode::BAD_ARGUMENTS, "timeout_ms must be positive");
      if (*timeout_ms < options_.request_timeout_ms) wait_ms = *timeout_ms;
    }
    auto promise = std::make_shared<std::promise<core::Completed>>();
    auto future = promise->get_future();
    engine_->submit(std::move(body),
                    [promise](core::Completed done) { promise->set_value(std::move(done)); });
    if (future.wait_for(std::chrono::milliseconds(wait_ms)) != std::future_status::ready) {
      return make_error(ErrorCode::TIMEOUT,
                        "no answer within " + std::to_string(wait_ms) + " ms" +
                            (is_write ? "; the write may still be applied" : ""),
                        !is_write);
    }
    core::Completed done = future.get();
    if (done.outcome == core::Outcome::ok) return std::move(done.response);
    return make_error(static_cast<ErrorCode>(done.response.status.error),
                      done.response.status.message, done.outcome == core::Outcome::failed);
  }

  template <class T>
  static Result<T> body_as(Result<codec::Response> response) {
    if (!response.ok()) return response.error();
    if (auto* body = std::get_if<T>(&response.value().body)) return std::move(*body);
    return make_error(ErrorCode::UNIMPLEMENTED, "the server answered with an unexpected body");
  }

  void add_watch(const std::string& path, WatchKind kind, WatchCallback callback) {
    std::lock_guard lock(mutex_);
    watches_[{path, kind}] = std::move(callback);
  }
  void drop_watch(const std::string& path, WatchKind kind) {
    std::lock_guard lock(mutex_);
    watches_.erase({path, kind});
  }

  core::Engine& engine() { return *engine_; }
  const ClientOptions& options() const { return options_; }

 private:
  // Engine thread.
  // The registration the event names gets it; an event naming none (a
  // one-shot watch, or a server that does not fill in watch_path) goes to
  // every registration covering the changed path, else the default watcher.
  void on_watch(const codec::WatchEvent& e) {
    const auto kind = static_cast<WatchKind>(e.watch_kind);
    std::vector<WatchCallback> callbacks;
    {
      std::lock_guard lock(mutex_);
      const auto it = watches_.find({e.watch_path.text(), kind});
      if (it != watches_.end()) {
        callbacks.push_back(it->second);
      } else {
        for (const auto& [key, callback] : watches_) {
          if (covers(key.first, key.second, e.event.path)) callbacks.push_back(callback);
        }
      }
    }
    if (callbacks.empty() && options_.default_watcher) callbacks.push_back(options_.default_watcher);
    const WatchEvent event = to_event(e);
    for (const auto& callback : callbacks) {
      if (callback) callback(event);
    }
  }

  static bool covers(const std::string& watched, WatchKind kind, const std::string& changed) {
    if (kind == WatchKind::persistent) return changed == watched;
    if (kind != WatchKind::persistent_recursive) return false;
    if (changed == watched || watched == "/") return true;
    return changed.size() > watched.size() && changed.compare(0, watched.size(), watched) == 0 &&
           changed[watched.size()] == '/';
  }

  // Engine thread. A moved session lost its server-side watches: set every
  // registered one again, replaying from the last zxid seen.
  void on_session(const core::SessionChanged& changed) {
    SessionState state = SessionState::connecting;
    switch (changed.status) {
      case core::SessionStatus::connected:
      case core::SessionStatus::moved: state = SessionState::connected; break;
      case core::SessionStatus::disconnected: state = SessionState::suspended; break;
      case core::SessionStatus::expired: state = SessionState::expired; break;
      case core::SessionStatus::closed: state = SessionState::closed; break;
    }
    std::vector<std::pair<std::string, WatchKind>> again;
    {
      std::lock_guard lock(mutex_);
      if (state == SessionState::connected) opened_ = true;
      if (state == SessionState::expired || state == SessionState::closed) final_ = true;
      if (changed.status == core::SessionStatus::moved) {
        for (const auto& [key, callback] : watches_) again.push_back(key);
      }
    }
    opened_cv_.notify_all();
    const Zxid from = engine_->snapshot().last_zxid;
    for (const auto& [path, kind] : again) {
      auto parsed = store::Path::parse(path);
      if (!parsed.ok()) continue;
      engine_->submit(codec::SetWatchRequest{std::move(parsed).value(),
                                             static_cast<codec::WatchKind>(kind), from},
                      nullptr);
    }
    if (options_.session_watcher) options_.session_watcher(state, changed.why);
  }

  ClientOptions options_;
  std::unique_ptr<core::Engine> engine_;
  std::mutex mutex_;  // guards the members below
  std::condition_variable opened_cv_;
  bool opened_ = false;
  bool final_ = false;
  std::map<std::pair<std::string, WatchKind>, WatchCallback> watches_;
};

Result<std::unique_ptr<Client>> Client::connect(ClientOptions options) {
  const std::string invalid = validate(options);
  if (!invalid.empty()) return make_error(ErrorCode::BAD_ARGUMENTS, invalid);
  std::string servers;
  for (const auto& s : options.servers) servers += (servers.empty() ? "" : ",") + s;
  const auto wait_ms = options.open_wait_ms;
  auto impl = std::make_unique<Impl>(std::move(options));
  impl->start();
  if (!impl->wait_open()) {
    return make_error(ErrorCode::CONNECTION_LOSS, "no server of " + servers +
                                                      " opened a session within " +
                                                      std::to_string(wait_ms) + " ms");
  }
  return std::unique_ptr<Client>(new Client(std::move(impl)));
}

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Client::~Client() {
  if (impl_) impl_->close();
}

Result<Created> Client::create(std::string_view path, std::string_view data,
                               const CreateOptions& options) {
  auto op = to_op(CreateOp{std::string(path), std::string(data), options.kind, options.sequential,
                           options.ttl_ms, options.parents});
  if (!op.ok()) return op.error();
  auto fence = to_fence(options.fence);
  if (!fence.ok()) return fence.error();
  store::WriteCommand command{SessionId{}, std::move(fence).value(), std::move(op).value()};
  auto result = Impl::body_as<codec::CreateResult>(
      impl_->call(store::Command{std::move(command)}, options.timeout_ms, true));
  if (!result.ok()) return result.error();
  return Created{std::move(result.value().path), to_stat(result.value().stat)};
}

Result<Data> Client::get(std::string_view path, const ReadOptions& options) {
  auto parsed = parse_path(path);
  if (!parsed.ok()) return parsed.error();
  auto result = Impl::body_as<codec::DataResult>(impl_->call(
      codec::GetRequest{std::move(parsed).value(), options.watch,
                        static_cast<codec::ReadMode>(options.consistency)},
      options.timeout_ms, false));
  if (!result.ok()) return result.error();
  auto& d = result.value();
  return Data{std::move(d.data), to_stat(d.stat), static_cast<NodeKind>(d.kind), d.ttl_ms};
}

Result<std::optional<Stat>> Client::exists(std::string_view path, const ReadOptions& options) {
  auto parsed = parse_path(path);
  if (!parsed.ok()) return parsed.error();
  auto result = Impl::body_as<codec::StatResult>(impl_->call(
      codec::ExistsRequest{std::move(parsed).value(), options.watch,
                           static_cast<codec::ReadMode>(options.consistency)},
      options.timeout_ms, false));
  if (!result.ok()) {
    if (result.error().code == ErrorCode::NO_NODE) return std::optional<Stat>{};
    return result.error();
  }
  return std::optional<Stat>{to_stat(result.value().stat)};
}

Result<ChildrenPage> Client::children(std::string_view path, const ChildrenOptions& options) {
  if (options.limit == 0 || options.limit > children_limit_max) {
    return make_error(ErrorCode::BAD_ARGUMENTS, "limit must be in [1, children_limit_max]");
  }
  auto parsed = parse_path(path);
  if (!parsed.ok()) return parsed.error();
  auto result = Impl::body_as<codec::ChildrenResult>(impl_->call(
      codec::ChildrenRequest{std::move(parsed).value(), options.read.watch,
                             static_cast<codec::ReadMode>(options.read.consistency),
                             options.after, options.limit},
      options.read.timeout_ms, false));
  if (!result.ok()) return result.error();
  ChildrenPage page;
  page.children.reserve(result.value().entries.size());
  for (auto& entry : result.value().entries) {
    page.children.push_back(Child{std::move(entry.name), to_stat(entry.stat)});
  }
  page.next_after = std::move(result.value().next_after);
  return page;
}

Result<std::vector<Child>> Client::all_children(std::string_view path, std::size_t max,
                                                const ReadOptions& options) {
  std::vector<Child> all;
  ChildrenOptions page_options{options, "", children_limit_max};
  for (;;) {
    auto page = children(path, page_options);
    if (!page.ok()) return page.error();
    for (auto& child : page.value().children) all.push_back(std::move(child));
    if (all.size() > max) {
      return make_error(ErrorCode::LIMIT_EXCEEDED,
                        std::string(path) + " has more than " + std::to_string(max) + " children");
    }
    if (!page.value().next_after) return all;
    page_options.after = std::move(*page.value().next_after);
    page_options.read.watch = false;  // one watch is enough
  }
}

Result<Stat> Client::set(std::string_view path, std::string_view data,
                         const WriteOptions& options) {
  auto op = to_op(SetOp{std::string(path), std::string(data), options.version});
  if (!op.ok()) return op.error();
  auto fence = to_fence(options.fence);
  if (!fence.ok()) return fence.error();
  store::WriteCommand command{SessionId{}, std::move(fence).value(), std::move(op).value()};
  auto result = Impl::body_as<codec::StatResult>(
      impl_->call(store::Command{std::move(command)}, options.timeout_ms, true));
  if (!result.ok()) return result.error();
  return to_stat(result.value().stat);
}

Result<Done> Client::remove(std::string_view path, const WriteOptions& options) {
  auto op = to_op(DeleteOp{std::string(path), options.version});
  if (!op.ok()) return op.error();
  auto fence = to_fence(options.fence);
  if (!fence.ok()) return fence.error();
  store::WriteCommand command{SessionId{}, std::move(fence).value(), std::move(op).value()};
  auto result = impl_->call(store::Command{std::move(command)}, options.timeout_ms, true);
  if (!result.ok()) return result.error();
  return Done{};
}

Result<std::vector<OpResult>> Client::multi(const std::vector<MultiOp>& ops,
                                            std::optional<Fence> fence,
                                            std::optional<std::int64_t> timeout_ms) {
  if (ops.size() > multi_ops_max) {
    return make_error(ErrorCode::BAD_ARGUMENTS, "more than multi_ops_max ops");
  }
  store::MultiCommand command;
  auto outer = to_fence(fence);
  if (!outer.ok()) return outer.error();
  command.fence = std::move(outer).value();
  for (const auto& op : ops) {
    auto converted = std::visit([](const auto& o) { return to_op(o); }, op.op);
    if (!converted.ok()) return converted.error();
    auto op_fence = to_fence(op.fence);
    if (!op_fence.ok()) return op_fence.error();
    command.ops.push_back(store::MultiOp{std::move(converted).value(), std::move(op_fence).value()});
  }
  auto result = Impl::body_as<codec::MultiResult>(
      impl_->call(store::Command{std::move(command)}, timeout_ms, true));
  if (!result.ok()) return result.error();
  std::vector<OpResult> out;
  for (auto& r : result.value().results) {
    std::optional<Stat> stat;
    if (r.stat) stat = to_stat(*r.stat);
    out.push_back(OpResult{static_cast<ErrorCode>(r.error), std::move(r.path), stat});
  }
  return out;
}

Result<Done> Client::sync(std::optional<std::int64_t> timeout_ms) {
  auto result = impl_->call(codec::SyncRequest{}, timeout_ms, false);
  if (!result.ok()) return result.error();
  return Done{};
}

Result<std::uint64_t> Client::check_fence(const Fence& fence,
                                          std::optional<std::int64_t> timeout_ms) {
  auto converted = to_fence(fence);
  if (!converted.ok()) return converted.error();
  auto result = Impl::body_as<codec::FenceResult>(
      impl_->call(codec::CheckFenceRequest{std::move(*converted.value())}, timeout_ms, false));
  if (!result.ok()) return result.error();
  return result.value().token.value();
}

Result<Done> Client::set_watch(std::string_view path, WatchKind kind, WatchCallback callback,
                               std::optional<std::uint64_t> from_zxid) {
  auto parsed = parse_path(path);
  if (!parsed.ok()) return parsed.error();
  const std::string key = parsed.value().text();
  impl_->add_watch(key, kind, std::move(callback));
  std::optional<Zxid> from;
  if (from_zxid) from = Zxid{*from_zxid};
  auto result = impl_->call(
      codec::SetWatchRequest{std::move(parsed).value(), static_cast<codec::WatchKind>(kind), from},
      std::nullopt, false);
  if (!result.ok()) {
    impl_->drop_watch(key, kind);
    return result.error();
  }
  return Done{};
}

Result<Done> Client::remove_watch(std::string_view path, WatchKind kind) {
  auto parsed = parse_path(path);
  if (!parsed.ok()) return parsed.error();
  impl_->drop_watch(parsed.value().text(), kind);
  auto result = impl_->call(
      codec::RemoveWatchRequest{std::move(parsed).value(), static_cast<codec::WatchKind>(kind)},
      std::nullopt, false);
  if (!result.ok()) return result.error();
  return Done{};
}

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

}  // namespace synod
