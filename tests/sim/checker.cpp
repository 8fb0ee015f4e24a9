#include "tests/sim/checker.h"

#include <algorithm>

namespace synod::sim {

namespace {
std::string slot_name(Slot slot) { return "slot " + std::to_string(slot.value()); }
}  // namespace

void Checker::fail(std::string why) {
  if (!failure_) failure_ = std::move(why);
}

std::uint64_t Checker::chain_at(Slot slot) const {
  if (slot == Slot{0}) return 0;
  return chains_.at(static_cast<std::size_t>(slot.value() - 1));
}

void Checker::on_applied(NodeId node, Slot slot, const consensus::Entry& entry,
                         std::uint64_t chain) {
  const auto index = static_cast<std::size_t>(slot.value() - 1);
  const std::uint64_t hash = consensus::entry_hash(entry);
  if (index == entry_hashes_.size()) {
    if (entry.kind == consensus::EntryKind::config) configs_[slot] = entry.config;
    entry_hashes_.push_back(hash);
    chains_.push_back(chain);
    return;
  }
  if (index > entry_hashes_.size()) {
    return fail(node_name(node) + " applied " + slot_name(slot) +
                " before any replica applied the slots before it");
  }
  if (entry_hashes_[index] != hash) {
    return fail("agreement: " + node_name(node) + " applied a different value at " +
                slot_name(slot) + " than another replica did");
  }
  if (chains_[index] != chain) {
    return fail("agreement: " + node_name(node) + "'s chain of applied entries differs at " +
                slot_name(slot));
  }
}

void Checker::on_snapshot_installed(NodeId node, Slot slot, std::uint64_t chain) {
  if (slot.value() > chains_.size()) {
    return fail(node_name(node) + " installed a snapshot at " + slot_name(slot) +
                " beyond every applied slot");
  }
  if (chain_at(slot) != chain) {
    return fail("agreement: " + node_name(node) + " installed a snapshot at " +
                slot_name(slot) + " whose chain differs from the applied log");
  }
}

void Checker::on_read_served(NodeId node, Slot served, Slot chosen_before) {
  if (served < chosen_before) {
    fail("linearizable read: " + node_name(node) + " served state through " + slot_name(served) +
         " but " + slot_name(chosen_before) + " was applied before the read began");
  }
}

void Checker::on_sent(const consensus::Envelope& envelope, bool after_persist, bool unsynced) {
  const NodeId node = envelope.from;
  std::optional<Ballot> vote;
  if (const auto* p = std::get_if<consensus::Promise>(&envelope.message); p && p->granted) {
    vote = p->ballot;
  } else if (const auto* a = std::get_if<consensus::Accepted>(&envelope.message);
             a && a->granted) {
    vote = a->ballot;
    Slot& acked = acked_[{node, a->ballot}];
    acked = std::max(acked, a->frontier);
  } else if (const auto* s = std::get_if<consensus::SnapshotAck>(&envelope.message);
             s && s->granted && s->installed) {
    vote = s->ballot;
    Slot& acked = acked_[{node, s->ballot}];
    acked = std::max(acked, s->slot);
  }
  if (!vote) return;
  Ballot& voted = voted_promise_[node];
  voted = std::max(voted, *vote);
  if (!after_persist && unsynced) {
    fail("durability: " + node_name(node) + " sent a vote (" +
         consensus::message_name(envelope.message) + " at ballot " + to_string(*vote) +
         ") before its writes were durable");
  }
}

void Checker::on_restarted(const consensus::Core& core) {
  auto it = voted_promise_.find(core.self());
  if (it != voted_promise_.end() && core.promised() < it->second) {
    fail("durability: " + node_name(core.self()) + " restarted with promise " +
         to_string(core.promised()) + " below the ballot " + to_string(it->second) +
         " it had voted with");
  }
}

void Checker::after_event(const consensus::Core& core, std::uint64_t incarnation,
                          const consensus::CoreFacts& before) {
  if (auto broken = consensus::check_basic(core)) return fail("invariant: " + *broken);
  if (auto broken = consensus::check_delta(before, core)) return fail("invariant: " + *broken);
  const consensus::Leader* leader = core.leader_state();
  if (leader == nullptr) return;
  const std::uint64_t key = (static_cast<std::uint64_t>(core.self().value()) << 32) | incarnation;
  auto [it, inserted] = leaders_.try_emplace(leader->ballot, key);
  if (!inserted && it->second != key) {
    return fail("one leader: ballot " + to_string(leader->ballot) +
                " led by two incarnations of " + node_name(core.self()));
  }
  if (core.chosen() > before.chosen) check_chosen_quorum(core, next(before.chosen), core.chosen());
}

// The definition of chosen: a quorum of the voters of the configuration
// governing the slot accepted it at one ballot. The leader counts itself.
void Checker::check_chosen_quorum(const consensus::Core& core, Slot from, Slot to) {
  const Ballot ballot = core.leader_state()->ballot;
  for (Slot s = from; s <= to; s = next(s)) {
    // The configuration governing s: the last one chosen before it.
    const consensus::Configuration& config = std::prev(configs_.lower_bound(s))->second;
    std::size_t votes = 0;
    for (NodeId voter : config.voters) {
      if (voter == core.self()) {
        ++votes;
        continue;
      }
      auto it = acked_.find({voter, ballot});
      if (it != acked_.end() && it->second >= s) ++votes;
    }
    if (votes < config.quorum()) {
      return fail("quorum: " + node_name(core.self()) + " declared " + slot_name(s) +
                  " chosen at ballot " + to_string(ballot) + " with " + std::to_string(votes) +
                  " of " + std::to_string(config.voters.size()) + " votes");
    }
  }
}

}  // namespace synod::sim
