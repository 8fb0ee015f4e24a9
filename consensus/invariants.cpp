#include "consensus/invariants.h"

namespace synod::consensus {

namespace {
std::string slot_name(Slot slot) { return "slot " + std::to_string(slot.value()); }
}  // namespace

CoreFacts facts_of(const Core& core) {
  return CoreFacts{core.promised(), core.chosen(), core.log_start()};
}

std::optional<std::string> check_basic(const Core& core) {
  const std::string who = node_name(core.self());
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
    // I-config (README §6): the leader proposes at most one configuration
    // change, and only once every inherited one (re-proposed from promises;
    // chosen before, by rule 1) is chosen here too.
    std::size_t inherited = 0, own = 0;
    for (Slot s = next(core.chosen()); s <= core.log_end(); s = next(s)) {
      if (core.entry_at(s).kind != EntryKind::config) continue;
      ++(s < leader->first_own ? inherited : own);
    }
    if (own > 1 || (own == 1 && inherited > 0)) {
      return who + ": leader has " + std::to_string(own) + " configuration change(s) of its own "
             "and " + std::to_string(inherited) + " inherited one(s) being chosen at once";
    }
  }
  return std::nullopt;
}

std::optional<std::string> check_delta(const CoreFacts& before, const Core& after) {
  const std::string who = node_name(after.self());
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
