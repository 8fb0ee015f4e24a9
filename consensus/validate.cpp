// What a peer's message must satisfy before the core acts on it
// (consensus/README.md §13). A message is network input: whatever it holds,
// it is checked here or where its meaning depends on our state, and dropped
// and counted by Rejection when it fails, never asserted. The asserts that
// remain in the core guard our own invariants only.
#include <bit>

#include "consensus/core.h"

namespace synod::consensus {

const char* rejection_name(Rejection reason) {
  static constexpr const char* names[] = {"sender",        "ballot_overflow",  "foreign_ballot",
                                          "slot_overflow", "malformed_entry",  "entry_too_large",
                                          "promise_page",  "snapshot_chunk",   "beyond_log",
                                          "read_round",    "conflicting_value"};
  static_assert(std::size(names) == rejection_kinds);
  return names[static_cast<std::size_t>(reason)];
}

std::size_t message_wire_bytes(const Message& message) {
  std::size_t bytes = message_overhead_bytes;
  auto entries = [&](const std::vector<Entry>& list) {
    for (const Entry& e : list) bytes += entry_wire_bytes(e);
  };
  if (const auto* a = std::get_if<Accept>(&message)) entries(a->entries);
  if (const auto* f = std::get_if<Forward>(&message)) entries(f->entries);
  if (const auto* p = std::get_if<Promise>(&message)) {
    for (const PromiseEntry& pe : p->entries) bytes += entry_wire_bytes(pe.entry);
  }
  if (const auto* c = std::get_if<SnapshotChunk>(&message)) {
    bytes += config_wire_bytes(c->config) + c->data.size();
  }
  if (const auto* t = std::get_if<Touch>(&message))
    bytes += session_wire_bytes * t->sessions.size();
  if (const auto* r = std::get_if<ReadIndex>(&message)) {
    bytes += session_wire_bytes * r->sessions.size();
  }
  return bytes;
}

namespace {

using Verdict = std::optional<Rejection>;

bool round_ok(Ballot b) { return b.round < round_limit; }
bool slot_ok(Slot s) { return s.value() < slot_limit; }

Verdict own_ballot(NodeId from, Ballot b) {
  if (!round_ok(b)) return Rejection::ballot_overflow;
  if (b.node != from) return Rejection::foreign_ballot;
  return std::nullopt;
}

Verdict entry_shape(const Entry& e) {
  if (!entry_well_formed(e)) return Rejection::malformed_entry;
  if (!entry_fits(e)) return Rejection::entry_too_large;
  return std::nullopt;
}

// The slots first .. first + count - 1 all lie below slot_limit.
bool range_ok(Slot first, std::size_t count) {
  return slot_ok(first) && count < slot_limit - first.value();
}

Verdict shape(NodeId from, const PreVote& m) {
  if (auto v = own_ballot(from, m.ballot)) return v;
  return slot_ok(m.chosen) ? Verdict{} : Rejection::slot_overflow;
}

Verdict shape(NodeId, const PreVoteReply& m) {
  return round_ok(m.ballot) && round_ok(m.promised) ? Verdict{} : Rejection::ballot_overflow;
}

Verdict shape(NodeId from, const Prepare& m) {
  if (auto v = own_ballot(from, m.ballot)) return v;
  return slot_ok(m.from) ? Verdict{} : Rejection::slot_overflow;
}

// A page runs from `from` without a hole and hands over to `more_from`;
// an empty page is the last one.
Verdict promise_page_shape(const Promise& m) {
  Slot expected = m.from;
  for (const PromiseEntry& pe : m.entries) {
    if (pe.slot != expected) return Rejection::promise_page;
    if (!round_ok(pe.ballot)) return Rejection::ballot_overflow;
    if (auto v = entry_shape(pe.entry)) return v;
    expected = next(expected);
  }
  if (m.more_from != Slot{} && (m.entries.empty() || m.more_from != expected)) {
    return Rejection::promise_page;
  }
  return std::nullopt;
}

Verdict shape(NodeId, const Promise& m) {
  if (!round_ok(m.ballot) || !round_ok(m.promised)) return Rejection::ballot_overflow;
  if (!slot_ok(m.log_start) || !slot_ok(m.chosen) || !slot_ok(m.more_from) ||
      !range_ok(m.from, m.entries.size())) {
    return Rejection::slot_overflow;
  }
  return promise_page_shape(m);
}

Verdict shape(NodeId from, const Accept& m) {
  if (auto v = own_ballot(from, m.ballot)) return v;
  if (!slot_ok(m.chosen) || !range_ok(m.first, m.entries.size())) return Rejection::slot_overflow;
  for (const Entry& e : m.entries) {
    if (auto v = entry_shape(e)) return v;
  }
  return std::nullopt;
}

Verdict shape(NodeId, const Accepted& m) {
  if (!round_ok(m.ballot) || !round_ok(m.promised)) return Rejection::ballot_overflow;
  return slot_ok(m.frontier) && slot_ok(m.chosen) ? Verdict{} : Rejection::slot_overflow;
}

Verdict shape(NodeId from, const SnapshotChunk& m) {
  if (auto v = own_ballot(from, m.ballot)) return v;
  if (!range_ok(m.slot, 1)) return Rejection::slot_overflow;
  if (!m.config.valid() || m.offset > m.total_bytes || m.data.size() > m.total_bytes - m.offset) {
    return Rejection::snapshot_chunk;
  }
  return std::nullopt;
}

Verdict shape(NodeId, const SnapshotAck& m) {
  if (!round_ok(m.ballot) || !round_ok(m.promised)) return Rejection::ballot_overflow;
  return slot_ok(m.slot) ? Verdict{} : Rejection::slot_overflow;
}

Verdict shape(NodeId from, const TimeoutNow& m) { return own_ballot(from, m.ballot); }

// A Forward carries client writes, which are commands.
Verdict shape(NodeId, const Forward& m) {
  for (const Entry& e : m.entries) {
    if (e.kind != EntryKind::command) return Rejection::malformed_entry;
    if (auto v = entry_shape(e)) return v;
  }
  return std::nullopt;
}

Verdict shape(NodeId, const Touch&) { return std::nullopt; }
Verdict shape(NodeId, const ReadIndex&) { return std::nullopt; }

Verdict shape(NodeId, const ReadIndexReply& m) {
  return slot_ok(m.index) ? Verdict{} : Rejection::slot_overflow;
}

}  // namespace

std::optional<Rejection> Core::check_shape(NodeId from, const Message& message) const {
  if (from == no_node || from == options_.self) return Rejection::sender;
  return std::visit([&](const auto& m) { return shape(from, m); }, message);
}

// The leader of m.ballot proposed one value per slot: an Accept at a ballot
// we hold a slot at, with another value there, is not from an honest leader.
bool Core::accept_conflicts(const Accept& m) const {
  Slot slot = m.first;
  for (const Entry& entry : m.entries) {
    if (slot > chosen_ && slot >= log_start_ && slot <= log_end()) {
      const LogSlot& held = const_cast<Core*>(this)->slot_ref(slot);
      if (held.ballot == m.ballot && !(held.entry == entry)) return true;
    }
    slot = next(slot);
  }
  return false;
}

// Against the values merged so far: two values known chosen, or two values
// accepted at one ballot, for one slot, cannot both be true.
bool Core::promise_conflicts(const Candidate& candidate, const Promise& m) const {
  for (const PromiseEntry& e : m.entries) {
    auto it = candidate.merged.find(e.slot);
    if (it == candidate.merged.end()) continue;
    const PromiseEntry& best = it->second;
    const bool both_chosen = best.chosen && e.chosen;
    const bool same_ballot = !best.chosen && !e.chosen && best.ballot == e.ballot;
    if ((both_chosen || same_ballot) && !(best.entry == e.entry)) return true;
  }
  return false;
}

// Counts it; notes the 1st, 2nd, 4th, 8th ... of each reason, so a peer
// sending garbage cannot flood the log.
void Core::reject(NodeId from, const char* what, Rejection reason) {
  const std::uint64_t count = ++rejected_[static_cast<std::size_t>(reason)];
  if (!std::has_single_bit(count)) return;
  note(node_name(options_.self) + " dropped a " + what + " from " + node_name(from) + ": " +
       rejection_name(reason) + " (" + std::to_string(count) + " so far for this reason)");
}

}  // namespace synod::consensus
