// Internal to server/runtime: when a client connection is closed for
// idleness (DESIGN.md "Processes"). Plain C++, no Asio and no clock: the
// connection's watchdog passes the monotonic time in and sleeps until
// next_check_ms, so the decision is unit-tested on its own.
//
// Contract:
//   - A connection that has had no session bound to it by
//     handshake_timeout_ms after it was accepted is closed (kind handshake),
//     whatever it sent meanwhile: a session handshake is what a client
//     connection is for.
//   - While a session is bound it is never closed for idleness: the session
//     timeout governs it (the replica expires a session whose keep-alives
//     stop, and then unbinds it).
//   - A connection that had a session and has none now (it expired, closed or
//     moved away) is closed once it has sent nothing for idle_timeout_ms
//     (kind idle). A frame it sends restarts that wait.
//   - next_check_ms is never in the past of the `now` it was computed at, so
//     a watchdog that sleeps until it makes progress.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>

#include "base/assert.h"

namespace synod::runtime {

struct ClientIdleOptions {
  std::int64_t handshake_timeout_ms = 10000;
  std::int64_t idle_timeout_ms = 30000;
};

class ClientIdle {
 public:
  enum class Close { no, handshake, idle };
  struct Verdict {
    Close close = Close::no;
    std::int64_t next_check_ms = 0;  // when to look again (close == no)
    std::string reason;              // a sentence for the log (close != no)
  };

  ClientIdle(ClientIdleOptions options, std::int64_t accepted_ms)
      : options_(options), accepted_ms_(accepted_ms), last_frame_ms_(accepted_ms) {
    SYNOD_ASSERT(options.handshake_timeout_ms > 0 && options.idle_timeout_ms > 0);
  }

  // The client sent a frame.
  void on_frame(std::int64_t now_ms) { last_frame_ms_ = std::max(last_frame_ms_, now_ms); }

  // What to do at `now_ms`, given whether a session is bound right now.
  [[nodiscard]] Verdict check(std::int64_t now_ms, bool has_session) {
    if (has_session) {
      had_session_ = true;
      // Looked at again after an idle timeout: by then the session may be gone.
      return {Close::no, now_ms + options_.idle_timeout_ms, {}};
    }
    if (!had_session_) {
      const std::int64_t deadline = accepted_ms_ + options_.handshake_timeout_ms;
      if (now_ms < deadline) return {Close::no, deadline, {}};
      return {Close::handshake, now_ms,
              "it opened no session within " + std::to_string(options_.handshake_timeout_ms) +
                  " ms (the handshake timeout)"};
    }
    const std::int64_t deadline = last_frame_ms_ + options_.idle_timeout_ms;
    if (now_ms < deadline) return {Close::no, deadline, {}};
    return {Close::idle, now_ms,
            "its session ended and it sent nothing for " +
                std::to_string(options_.idle_timeout_ms) + " ms (the idle timeout)"};
  }

 private:
  ClientIdleOptions options_;
  std::int64_t accepted_ms_;
  std::int64_t last_frame_ms_;
  bool had_session_ = false;
};

}  // namespace synod::runtime
