// Internal to server/runtime: the two clocks the runtime reads. Time enters
// the replica only as the replica::Time each input carries (STYLE.md habit
// 2); nothing under server/replica or consensus/ reads a clock itself.
//
// Contract: monotonic_ms() never decreases (steady_clock) and measures
// durations and deadlines; wall_ms() is the system clock, for log stamps and
// the timestamps a leader writes into entries, and may jump.
#pragma once

#include <chrono>
#include <cstdint>

#include "server/replica/replica.h"

namespace synod::runtime {

using Clock = std::chrono::steady_clock;

inline std::int64_t monotonic_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch())
      .count();
}

inline std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

inline replica::Time now_time() { return replica::Time{monotonic_ms(), wall_ms()}; }

}  // namespace synod::runtime
