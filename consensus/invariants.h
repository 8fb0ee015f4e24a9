// The protocol's invariants as code (STYLE.md habit 12): the executable half
// of consensus/README.md §10. The simulator runs them after every event.
#pragma once

#include <optional>
#include <string>

#include "consensus/core.h"

namespace synod::consensus {

// Facts about one core that must never go backwards while it lives.
struct CoreFacts {
  Ballot promised;
  Slot chosen{};
  Slot log_start{};
};

[[nodiscard]] CoreFacts facts_of(const Core& core);

// Invariants of one core at one instant. nullopt when all hold; otherwise a
// sentence naming the first broken one.
[[nodiscard]] std::optional<std::string> check_basic(const Core& core);

// Invariants between two instants of one core's life (`before` taken
// earlier): the promise, the chosen point and the log start never decrease.
[[nodiscard]] std::optional<std::string> check_delta(const CoreFacts& before, const Core& after);

}  // namespace synod::consensus
