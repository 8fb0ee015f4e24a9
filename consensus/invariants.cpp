#include "consensus/invariants.h"

namespace synod::consensus {

namespace {
std::string node_name(const Core& core) { return "node " + std::to_string(core.self().value()); }
std::string slot_name(Slot slot) { return "slot " + std::to_string(slot.value()); }
}  // namespace

CoreFacts facts_of(const Core& core) {
  return CoreFacts{core.promised(), core.chosen(), core.log_start()};
}

std::optional<std::string> check_basic(const Core& core) {
  const std::string who = node_name(core);
  // I-log: the log is a contiguous run after the snapshot.
  if (core.log_start() != next(core.snapshot().slot)) {
    return who + ": log starts at " + slot_name(core.log_start()) + " but the snapshot covers " +
           slot_name(core.snapshot().slot);
  }
  if (core.chosen() < core.snapshot().slot || core.chosen() > core.log_end()) {
    return who + ": chosen point " + slot_name(core.chosen()) + " is outside its log";
  }
  // I-promise: nothing is accepted above the promise.
  for (Slot s = core.log_start(); s <= core.log_end(); s = next(s)) {
    if (core.ballot_at(s) > core.promised()) {
      return who + ": " + slot_name(s) + " accepted at " + to_string(core.ballot_at(s)) +
             " above its promise " + to_string(core.promised());
    }
  }
  // I-leader: a leader leads at its promise, its ballot is its own, and
  // every slot of its leadership holds its ballot.
  if (const Leader* leader = core.leader_state()) {
    if (leader->ballot != core.promised()) return who + ": leads below its promise";
    if (leader->ballot.node != core.self()) return who + ": leads at another node's ballot";
    for (Slot s = std::max(leader->from, next(core.chosen())); s <= core.log_end(); s = next(s)) {
      if (core.ballot_at(s) != leader->ballot) {
        return who + ": leader holds " + slot_name(s) + " at a foreign ballot";
      }
    }
    // I-config: at most one configuration entry is being chosen at a time.
    if (core.unchosen_config_count() > 1) {
      return who + ": leader has " + std::to_string(core.unchosen_config_count()) +
             " configuration entries being chosen at once";
    }
  }
  return std::nullopt;
}

std::optional<std::string> check_delta(const CoreFacts& before, const Core& after) {
  const std::string who = node_name(after);
  if (after.promised() < before.promised) {
    return who + ": promise went back from " + to_string(before.promised) + " to " +
           to_string(after.promised());
  }
  if (after.chosen() < before.chosen) {
    return who + ": chosen point went back from " + slot_name(before.chosen) + " to " +
           slot_name(after.chosen());
  }
  if (after.log_start() < before.log_start) return who + ": log start went back";
  return std::nullopt;
}

}  // namespace synod::consensus
