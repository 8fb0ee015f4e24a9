// The client's only Asio translation unit: Engine (engine.h). One
// connection at a time, in the two-coroutine shape of STYLE.md habit 5: a
// reader() that hands each frame to the core, and a writer() that drains a
// queue bounded by the core's outstanding_max (plus its own keep-alive and
// close). Socket errors come back as values (as_tuple); any exception stops
// at the connection's top and closes that one connection.
#include <algorithm>
#include <array>
#include <asio.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/assert.h"
#include "base/bounded_queue.h"
#include "base/little_endian.h"
#include "client/engine.h"
#include "protocol/limits.h"

namespace synod::client {
namespace {

using asio::ip::tcp;
constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

// The tick's bounds: often enough for the core's deadlines, rarely enough
// to cost nothing when idle.
constexpr std::int64_t tick_min_ms = 1;
constexpr std::int64_t tick_max_ms = 50;
// Frames queued on one connection: the core's in-flight bound plus its
// open, keep-alive and close.
constexpr std::size_t send_queue_max = outstanding_max_limit + 4;

struct Connection {
  explicit Connection(asio::io_context& io) : socket(io), wake(io) {
    wake.expires_at(asio::steady_timer::time_point::max());
  }
  tcp::socket socket;
  asio::steady_timer wake;  // cancelled to wake the writer
  base::BoundedQueue<std::string> out{send_queue_max};  // frames the writer sends, in order
  bool closed = false;
};

// "host:port" split at the last ':' ("[::1]:7001" loses its brackets).
bool split_address(const std::string& address, std::string& host, std::string& port) {
  const auto colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == address.size()) return false;
  host = address.substr(0, colon);
  port = address.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return true;
}

}  // namespace

struct Engine::Impl {
  Impl(ClientOptions options, EngineHandlers handlers, std::uint64_t seed)
      : servers(options.servers),
        prng(seed),
        core(std::move(options), prng),
        handlers_(std::move(handlers)),
        tick_timer(io),
        work(asio::make_work_guard(io)),
        epoch(std::chrono::steady_clock::now()),
        log_notes(std::getenv("SYNOD_CLIENT_LOG") != nullptr) {}

  std::int64_t now_ms() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now() - epoch)
        .count();
  }

  // After every input to the core: carry out its actions, publish the
  // snapshot (so a callback reading state() sees what it is told about),
  // hand out its events.
  void drain() {
    for (auto& action : core.take_actions()) {
      if (const auto* c = std::get_if<Connect>(&action)) {
        connect(c->server);
      } else if (auto* s = std::get_if<Send>(&action)) {
        if (conn && !conn->closed) {
          const bool queued = conn->out.push(std::move(s->bytes));
          SYNOD_ASSERT_MSG(queued, "the core bounds what it sends (send_queue_max)");
          conn->wake.cancel_one();
        }
      } else {
        close_connection();
      }
    }
    publish();
    for (auto& event : core.take_events()) {
      if (auto* done = std::get_if<Completed>(&event)) {
        const auto it = pending.find(done->id);
        if (it == pending.end()) continue;
        Done callback = std::move(it->second.done);
        pending.erase(it);
        if (callback) callback(std::move(*done));
      } else if (const auto* fired = std::get_if<WatchFired>(&event)) {
        if (handlers_.on_watch) handlers_.on_watch(fired->event);
      } else {
        const auto& changed = std::get<SessionChanged>(event);
        {
          std::lock_guard lock(mutex);
          snap.status = changed.status;
        }
        if (handlers_.on_session) handlers_.on_session(changed);
      }
    }
    for (const auto& note : core.take_notes()) {
      if (log_notes) std::fprintf(stderr, "synod client: %s\n", note.c_str());
    }
  }

  void publish() {
    std::lock_guard lock(mutex);
    snap.phase = core.phase();
    snap.session = core.session();
    snap.last_zxid = core.last_zxid();
    snap.safe_until_ms = core.safe_until_ms();
    snap.timeout_ms = core.negotiated_timeout_ms();
    snap.server = core.server();
  }

  void close_connection() {
    if (!conn) return;
    conn->closed = true;
    asio::error_code ignored;
    conn->socket.shutdown(tcp::socket::shutdown_both, ignored);
    conn->socket.close(ignored);
    conn->wake.cancel();
    conn.reset();
  }

  // The connection failed or closed by itself (not by a Close action).
  void lost(const std::shared_ptr<Connection>& which) {
    if (which != conn || stopping) return;
    close_connection();
    core.on_disconnected(now_ms());
    drain();
  }

  void connect(std::size_t server) {
    SYNOD_ASSERT_MSG(!conn, "the core connects only after a Close or a disconnect");
    conn = std::make_shared<Connection>(io);
    asio::co_spawn(io, run(conn, servers.at(server)), [this, which = conn](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        if (log_notes) std::fprintf(stderr, "synod client: connection failed: %s\n", ex.what());
      }
      lost(which);
    });
  }

  asio::awaitable<void> run(std::shared_ptr<Connection> c, std::string address) {
    std::string host;
    std::string port;
    if (!split_address(address, host, port)) {
      lost(c);
      co_return;
    }
    tcp::resolver resolver(io);
    auto [rerr, endpoints] = co_await resolver.async_resolve(host, port, use_tuple);
    if (rerr || c->closed) {
      lost(c);
      co_return;
    }
    auto [cerr, endpoint] = co_await asio::async_connect(c->socket, endpoints, use_tuple);
    (void)endpoint;
    if (cerr || c->closed) {
      lost(c);
      co_return;
    }
    asio::error_code ignored;
    c->socket.set_option(tcp::no_delay(true), ignored);
    core.on_connected(now_ms());
    drain();
    if (c->closed) co_return;
    asio::co_spawn(io, writer(c), asio::detached);
    co_await reader(c);
  }

  asio::awaitable<void> reader(std::shared_ptr<Connection> c) {
    std::array<unsigned char, 4> header{};
    std::string body;
    while (!c->closed) {
      auto [herr, hn] = co_await asio::async_read(c->socket, asio::buffer(header), use_tuple);
      (void)hn;
      if (herr || c->closed) break;
      const std::uint32_t length = base::load_le<std::uint32_t>(header.data());
      if (length > protocol::frame_bytes_max) {
        if (log_notes) std::fprintf(stderr, "synod client: a %u-byte frame is too large\n", length);
        break;
      }
      body.resize(length);
      auto [berr, bn] = co_await asio::async_read(c->socket, asio::buffer(body), use_tuple);
      (void)bn;
      if (berr || c->closed) break;
      core.on_frame(now_ms(), body);
      drain();
    }
    lost(c);
  }

  asio::awaitable<void> writer(std::shared_ptr<Connection> c) {
    std::string frame;
    while (!c->closed) {
      if (c->out.empty()) {
        auto [werr] = co_await c->wake.async_wait(use_tuple);
        (void)werr;
        continue;
      }
      const std::string bytes = std::move(*c->out.pop());
      SYNOD_ASSERT(bytes.size() <= protocol::frame_bytes_max);
      frame.clear();
      base::put_u32(frame, static_cast<std::uint32_t>(bytes.size()));
      frame += bytes;
      auto [err, n] = co_await asio::async_write(c->socket, asio::buffer(frame), use_tuple);
      (void)n;
      if (err) {
        lost(c);
        co_return;
      }
    }
  }

  // Engine thread, from Engine::stop()'s last post: every request still
  // pending completes now (in submit order), so each Done runs exactly once.
  // A Done may submit again; that submit sees `stopping` and completes too.
  void stop() {
    stopping = true;
    close_connection();
    tick_timer.cancel();
    for (const auto& timer : timers) timer->cancel();
    timers.clear();
    std::vector<std::pair<RequestId, Pending>> left(pending.begin(), pending.end());
    pending.clear();
    std::sort(left.begin(), left.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    for (auto& [id, request] : left) {
      if (request.done) request.done(abandoned(id, request.write));
    }
    work.reset();
  }

  static Completed abandoned(RequestId id, bool write) {
    protocol::Response response{
        0,
        Zxid{},
        protocol::error_status(protocol::Error::CONNECTION_LOSS,
                               write ? "the client was destroyed before the answer came; the write "
                                       "may have been applied"
                                     : "the client was destroyed before the answer came"),
        {}};
    return Completed{id, std::move(response), write ? Outcome::unknown : Outcome::failed};
  }

  asio::awaitable<void> ticker() {
    while (!stopping) {
      std::int64_t wait_ms = tick_max_ms;
      if (const auto wake = core.next_wakeup_ms()) {
        wait_ms = std::clamp(*wake - now_ms(), tick_min_ms, tick_max_ms);
      }
      tick_timer.expires_after(std::chrono::milliseconds(wait_ms));
      auto [err] = co_await tick_timer.async_wait(use_tuple);
      (void)err;
      if (stopping) break;
      core.on_tick(now_ms());
      drain();
    }
  }

  std::vector<std::string> servers;
  base::Prng prng;
  SessionCore core;
  EngineHandlers handlers_;
  asio::io_context io;
  asio::steady_timer tick_timer;
  asio::executor_work_guard<asio::io_context::executor_type> work;
  std::chrono::steady_clock::time_point epoch;
  bool log_notes = false;
  bool stopping = false;  // engine thread only
  std::shared_ptr<Connection> conn;
  struct Pending {
    Done done;
    bool write = false;  // a write or the close: its outcome may be unknown
  };
  std::unordered_map<RequestId, Pending> pending;
  std::vector<std::shared_ptr<asio::steady_timer>> timers;  // after()'s, not yet due
  std::thread thread;
  std::atomic<std::thread::id> thread_id{};
  std::atomic<bool> started{false};  // start() ran: asio::post before it is a bug

  mutable std::mutex mutex;  // guards snap
  SessionSnapshot snap;
};

Engine::Engine(ClientOptions options, EngineHandlers handlers, std::uint64_t seed)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handlers), seed)) {}

void Engine::start() {
  Impl* impl = impl_.get();
  SYNOD_ASSERT_MSG(!impl->started.exchange(true), "an Engine is started once");
  asio::post(impl->io, [impl] {
    impl->core.start(impl->now_ms());
    impl->drain();
  });
  asio::co_spawn(impl->io, impl->ticker(), asio::detached);
  impl->thread = std::thread([impl] {
    impl->thread_id = std::this_thread::get_id();
    impl->io.run();
  });
}

Engine::~Engine() { stop(); }

void Engine::stop() {
  Impl* impl = impl_.get();
  if (!impl->thread.joinable()) return;
  SYNOD_ASSERT_MSG(!on_engine_thread(), "an Engine cannot be stopped from its own thread");
  asio::post(impl->io, [impl] { impl->stop(); });
  impl->thread.join();
}

void Engine::submit(protocol::ClientBody body, Done done, std::optional<std::int64_t> timeout_ms) {
  Impl* impl = impl_.get();
  SYNOD_ASSERT_MSG(impl->started.load(), "submit() after start()");
  const bool write = std::holds_alternative<protocol::WriteRequest>(body) ||
                     std::holds_alternative<protocol::MultiRequest>(body);
  asio::post(impl->io, [impl, body = std::move(body), done = std::move(done), timeout_ms,
                        write]() mutable {
    if (impl->stopping) {
      if (done) done(Impl::abandoned(RequestId{0}, write));
      return;
    }
    const RequestId id = impl->core.submit(impl->now_ms(), std::move(body), timeout_ms);
    impl->pending.emplace(id, Impl::Pending{std::move(done), write});
    impl->drain();
  });
}

void Engine::close(Done done) {
  Impl* impl = impl_.get();
  SYNOD_ASSERT_MSG(impl->started.load(), "close() after start()");
  asio::post(impl->io, [impl, done = std::move(done)]() mutable {
    if (impl->stopping) {
      if (done) done(Impl::abandoned(RequestId{0}, true));
      return;
    }
    const RequestId id = impl->core.close(impl->now_ms());
    impl->pending.emplace(id, Impl::Pending{std::move(done), true});
    impl->drain();
  });
}

void Engine::post(std::function<void()> fn) {
  SYNOD_ASSERT_MSG(impl_->started.load(), "post() after start()");
  asio::post(impl_->io, std::move(fn));
}

void Engine::after(std::int64_t delay_ms, std::function<void()> fn) {
  Impl* impl = impl_.get();
  SYNOD_ASSERT_MSG(impl->started.load(), "after() after start()");
  asio::post(impl->io, [impl, delay_ms, fn = std::move(fn)]() mutable {
    if (impl->stopping) return;
    auto timer = std::make_shared<asio::steady_timer>(impl->io);
    timer->expires_after(std::chrono::milliseconds(std::max<std::int64_t>(delay_ms, 0)));
    impl->timers.push_back(timer);
    timer->async_wait([impl, timer, fn = std::move(fn)](const asio::error_code& error) {
      std::erase(impl->timers, timer);
      if (!error && !impl->stopping) fn();
    });
  });
}

SessionSnapshot Engine::snapshot() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->snap;
}

std::int64_t Engine::now_ms() const { return impl_->now_ms(); }

bool Engine::on_engine_thread() const {
  return impl_->thread_id.load() == std::this_thread::get_id();
}

}  // namespace synod::client
