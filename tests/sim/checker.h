// Checker: the simulator's safety checks, run after every event (STYLE.md
// habit 12; consensus/README.md §10). Each method returns nothing; the
// first violation is kept in failure() and ends the run.
//
//   agreement     every replica applies the same entry at each slot, and the
//                 same chain of applied entries (hash chain)
//   quorum        a leader declares a slot chosen only when a quorum of the
//                 governing configuration's voters acknowledged it
//   durability    a vote leaves only after its writes are durable, and a
//                 restarted replica never promises less than it voted with
//   one leader    at most one leader per ballot, across incarnations
//   core          consensus::check_basic and check_delta on every replica
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "consensus/core.h"
#include "consensus/invariants.h"

namespace synod::sim {

class Checker {
 public:
  explicit Checker(consensus::Configuration initial) { configs_[Slot{0}] = std::move(initial); }

  // Replica `node` applied `entry` at `slot`, reaching chain hash `chain`.
  void on_applied(NodeId node, Slot slot, const consensus::Entry& entry, std::uint64_t chain);
  // Replica `node` installed a snapshot at `slot` whose chain hash is `chain`.
  void on_snapshot_installed(NodeId node, Slot slot, std::uint64_t chain);
  // A message leaves `node`; `unsynced` says whether it has undurable writes.
  void on_sent(const consensus::Envelope& envelope, bool after_persist, bool unsynced);
  // Replica `node` restarted (incarnation counts restarts) with this core.
  void on_restarted(const consensus::Core& core);
  // After any event on `core`: invariants, leadership, quorum of chosen.
  void after_event(const consensus::Core& core, std::uint64_t incarnation,
                   const consensus::CoreFacts& before);

  // Any other violation the harness finds (a disk that refuses to recover).
  void report(std::string why) { fail(std::move(why)); }

  [[nodiscard]] const std::optional<std::string>& failure() const { return failure_; }
  [[nodiscard]] std::uint64_t slots_chosen() const { return entry_hashes_.size(); }
  // A linearizable read served at `node` with state through `served` began
  // after `chosen_before` had been applied somewhere: it must see it.
  void on_read_served(NodeId node, Slot served, Slot chosen_before);
  [[nodiscard]] std::uint64_t chain_at(Slot slot) const;
  [[nodiscard]] std::size_t leaderships() const { return leaders_.size(); }

 private:
  void fail(std::string why);
  void check_chosen_quorum(const consensus::Core& core, Slot from, Slot to);

  std::optional<std::string> failure_;
  std::vector<std::uint64_t> entry_hashes_;  // index slot - 1
  std::vector<std::uint64_t> chains_;        // index slot - 1
  std::map<std::pair<NodeId, Ballot>, Slot> acked_;  // highest frontier voted
  std::map<NodeId, Ballot> voted_promise_;
  std::map<Ballot, std::uint64_t> leaders_;  // ballot -> incarnation key
  std::map<Slot, consensus::Configuration> configs_;  // from applied config entries
};

}  // namespace synod::sim
