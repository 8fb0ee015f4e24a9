// Internal to server/runtime: an outbound peer link's application-level
// liveness (peer_link.h). TCP keepalive and TCP_USER_TIMEOUT do not notice a
// peer whose process is stopped (SIGSTOP) or wedged, since its kernel still
// acknowledges; this does. Plain C++, no Asio and no clock: the link passes
// the monotonic time in, so the decision is unit-tested on its own.
//
// Contract:
//   - Every link sends a heartbeat frame (codec::encode_link_heartbeat) when
//     it has sent nothing for heartbeat_ms, so every peer hears from every
//     other even when consensus has nothing to say between them.
//   - A link whose peer was heard from (any frame from it, on any
//     connection) neither since dead_ms ago nor since this connection
//     opened is dead: it is closed and redialled.
//   - A link that itself was not looked at for more than dead_ms / 2 (our
//     own event loop stalled, or our process was stopped) blames nobody: it
//     starts the wait afresh, since the peer's frames may be unread in our
//     socket buffers.
//   - next_check_ms is after the `now` it was computed at.
#pragma once

#include <algorithm>
#include <cstdint>

#include "base/assert.h"

namespace synod::runtime {

class PeerSilence {
 public:
  enum class Step { wait, heartbeat, dead };
  struct Verdict {
    Step step = Step::wait;
    std::int64_t next_check_ms = 0;
  };

  PeerSilence(std::int64_t dead_ms, std::int64_t heartbeat_ms)
      : dead_ms_(dead_ms), heartbeat_ms_(heartbeat_ms) {
    SYNOD_ASSERT(heartbeat_ms > 0 && dead_ms > 2 * heartbeat_ms);
  }

  // A connection opened at `now_ms`: the wait starts afresh.
  void connected(std::int64_t now_ms) { heard_ms_ = sent_ms_ = checked_ms_ = now_ms; }
  void heard(std::int64_t now_ms) { heard_ms_ = std::max(heard_ms_, now_ms); }
  void sent(std::int64_t now_ms) { sent_ms_ = std::max(sent_ms_, now_ms); }
  [[nodiscard]] std::int64_t heard_ms() const { return heard_ms_; }
  [[nodiscard]] std::int64_t dead_ms() const { return dead_ms_; }

  [[nodiscard]] Verdict check(std::int64_t now_ms) {
    if (now_ms - checked_ms_ > dead_ms_ / 2) heard_ms_ = std::max(heard_ms_, now_ms);  // our stall
    checked_ms_ = now_ms;
    if (now_ms - heard_ms_ >= dead_ms_) return {Step::dead, now_ms};
    const Step step = now_ms - sent_ms_ >= heartbeat_ms_ ? Step::heartbeat : Step::wait;
    if (step == Step::heartbeat) sent_ms_ = now_ms;
    const std::int64_t next = std::min(sent_ms_ + heartbeat_ms_, heard_ms_ + dead_ms_);
    return {step, std::max(next, now_ms + 1)};
  }

 private:
  std::int64_t dead_ms_;
  std::int64_t heartbeat_ms_;
  std::int64_t heard_ms_ = 0;
  std::int64_t sent_ms_ = 0;
  std::int64_t checked_ms_ = 0;
};

}  // namespace synod::runtime
