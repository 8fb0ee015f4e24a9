// Engine: the client library's I/O half. It owns one io_context on one
// background thread and drives a client/core SessionCore with it: TCP
// connects for Connect actions, frames of `u32 length (little-endian) +
// bytes` both ways, on_tick from a steady_timer. Everything Asio lives in
// connection.cpp (one Asio translation unit costs ~11 s to compile), so this
// header is free of it.
//
// Threads: submit(), close(), post() and after() may be called from any
// thread; they post to the engine thread. Every callback (a request's Done,
// the watch and session handlers, posted functions) runs on the engine
// thread, in the order SessionCore emitted its events
// (client/core/session_core.h, take_events).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

#include "client/core/session_core.h"

namespace synod::client {

// What the engine last knew of the session; copied out under a lock after
// every input to the core.
struct SessionSnapshot {
  Phase phase = Phase::idle;
  std::optional<SessionStatus> status;  // of the latest SessionChanged
  SessionId session{};
  Zxid last_zxid{};
  std::int64_t safe_until_ms = 0;  // in the engine's clock (now_ms)
  std::int64_t timeout_ms = 0;
  std::size_t server = 0;
};

struct EngineHandlers {
  std::function<void(const protocol::WatchEvent&)> on_watch;  // may be empty
  std::function<void(const SessionChanged&)> on_session;   // may be empty
};

class Engine {
 public:
  using Done = std::function<void(Completed)>;

  // options.validate() must be ok (asserted). seed: the core's Prng. Starts
  // nothing: no handler can run before start(), so the owner may first
  // store the Engine where its handlers will look for it.
  Engine(ClientOptions options, EngineHandlers handlers, std::uint64_t seed);
  // stop(), if started and not stopped before.
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Starts the thread and the session; handlers and callbacks run from
  // then on. Once, before anything else but snapshot(), now_ms() and
  // on_engine_thread() (submit, post, after: asserted).
  void start();

  // Stops and joins the thread: the connection is closed without a
  // CloseSession (call close() first for a clean end). Done callbacks not
  // yet run run now, on the engine thread, with CONNECTION_LOSS (unknown
  // for a write or close, failed otherwise), and so do those of submits they
  // make; after() callbacks not yet due are dropped. Idempotent (and does
  // nothing before start()); must not run on the engine thread. Afterwards only snapshot(),
  // now_ms() and on_engine_thread() may be called.
  void stop();

  // `done` runs exactly once on the engine thread (see stop()); it may be
  // empty. timeout_ms: SessionCore::submit's.
  void submit(protocol::ClientBody body, Done done,
              std::optional<std::int64_t> timeout_ms = std::nullopt);
  void close(Done done);
  // Runs `fn` on the engine thread, after what was posted before.
  void post(std::function<void()> fn);
  // Runs `fn` on the engine thread once delay_ms have passed, unless the
  // engine is destroyed first.
  void after(std::int64_t delay_ms, std::function<void()> fn);

  [[nodiscard]] SessionSnapshot snapshot() const;
  // Milliseconds on the engine's steady clock (0 at construction).
  [[nodiscard]] std::int64_t now_ms() const;
  [[nodiscard]] bool on_engine_thread() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace synod::client
