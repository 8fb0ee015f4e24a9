// The acceptor and learner: phase 1b (Promise), phase 2b (Accepted), the
// chosen point learned from the leader, snapshot installation, and leader
// stickiness. consensus/README.md §3, §4 and §5.
#include <algorithm>

#include "base/assert.h"
#include "consensus/core.h"

namespace synod::consensus {


// Phase 1b (README §3.1). A vote: it leaves only once the promise is durable.
void Core::on_prepare(NodeId from, const Prepare& m) {
  observe(m.ballot);
  const bool votes_after_persist = !options_.canaries.ack_before_persist;
  if (m.ballot < promised_) {
    send(from, Promise{m.ballot, m.from, false, promised_, log_start_, chosen_, {}}, false);
    return;
  }
  if (m.ballot > promised_) {
    // Stickiness (README §4.2): while we hear from a live leader, a new
    // ballot would only disrupt it. A transfer comes from the leader itself.
    if (!m.transfer && leader_is_live()) {
      ++ignored_messages_;
      note(node_name(options_.self) + " refused ballot " + to_string(m.ballot) + " from " +
           node_name(from) + ": leader " + std::to_string(leader_hint_.value()) +
           " is live");
      send(from, Promise{m.ballot, m.from, false, promised_, log_start_, chosen_, {}}, false);
      return;
    }
    raise_promise(m.ballot);
    if (!std::holds_alternative<Follower>(role_) || leader_hint_ != no_node) {
      become_follower(no_node);
    }
    reset_election_timer();
  }
  // m.ballot == promised_ now: a first or a duplicate Prepare, or the
  // candidate asking for pages it lacks; answer all of them, with every page
  // from m.from to our log end (README §3.1).
  Promise page{m.ballot, m.from, true, promised_, log_start_, chosen_, {}};
  for (;;) {
    fill_promise_page(page);
    const Slot more_from = page.more_from;
    send(from, std::move(page), votes_after_persist);
    if (more_from == Slot{}) return;
    page = Promise{m.ballot, more_from, true, promised_, log_start_, chosen_, {}};
  }
}

// The accepted values from page.from on, as many as accept_bytes_max allows
// and at least one; more_from says where the next page starts. None when
// page.from is before our log start: such a promise does not count.
void Core::fill_promise_page(Promise& page) const {
  if (page.from < log_start_) return;
  std::size_t bytes = 0;
  for (Slot s = page.from; s <= log_end(); s = next(s)) {
    const Entry& entry = entry_at(s);
    bytes += entry_wire_bytes(entry);
    if (!page.entries.empty() && bytes > options_.accept_bytes_max) {
      page.more_from = s;
      return;
    }
    page.entries.push_back(PromiseEntry{s, ballot_at(s), entry, s <= chosen_});
  }
}

// Follows the leader of `ballot` if it is at least our promise. Returns false
// (after refusing) when the ballot is stale. Shared by Accept and
// SnapshotChunk, the two messages only a leader sends.
bool Core::follow_ballot(NodeId from, Ballot ballot) {
  SYNOD_ASSERT_MSG(ballot.node == from, "check_shape refuses a foreign leader ballot");
  observe(ballot);
  if (ballot < promised_) return false;
  raise_promise(ballot);
  if (auto* leader = std::get_if<Leader>(&role_)) {
    SYNOD_ASSERT_MSG(leader->ballot < ballot, "two leaders at one ballot");
  }
  if (!std::holds_alternative<Follower>(role_) || leader_hint_ != from) {
    become_follower(from);
    note(node_name(options_.self) + " follows leader " + std::to_string(from.value()) +
         " at ballot " + to_string(ballot));
  }
  leader_hint_ = from;
  ticks_since_leader_ = 0;
  election_elapsed_ = 0;
  if (frontier_ballot_ != ballot) {
    // A new leader: our contiguous run restarts at what we know is chosen.
    frontier_ballot_ = ballot;
    frontier_ = chosen_;
  }
  return true;
}

// Phase 2b (README §3.2). Entries extend our contiguous run at this ballot;
// a message that would leave a gap is answered with our frontier so the
// leader resends from there.
void Core::on_accept(NodeId from, const Accept& m) {
  if (accept_conflicts(m)) {
    reject(from, "Accept", Rejection::conflicting_value);
    return;
  }
  if (!follow_ballot(from, m.ballot)) {
    send(from, Accepted{m.ballot, false, promised_, frontier_, chosen_}, false);
    return;
  }
  const bool votes_after_persist = !options_.canaries.ack_before_persist;
  const bool gap = m.first > next(frontier_);
  Slot slot = m.first;
  for (const Entry& entry : m.entries) {
    if (gap) break;
    if (slot > chosen_ && slot >= log_start_) {
      // Held at this ballot already: the same value (accept_conflicts).
      const bool same = slot <= log_end() && slot_ref(slot).ballot == m.ballot;
      if (!same) write_slot(slot, m.ballot, entry);
    }
    slot = next(slot);
  }
  if (!gap && !m.entries.empty()) frontier_ = std::max(frontier_, prev(slot));
  // Every slot in (chosen_, min(m.chosen, frontier_)] holds the value the
  // leader of m.ballot proposed, which it has declared chosen (README §3.3).
  const Slot learnable = std::min(m.chosen, frontier_);
  if (learnable > chosen_) advance_chosen(learnable);
  send(from, Accepted{m.ballot, true, promised_, frontier_, chosen_, gap, m.read_seq},
       votes_after_persist);
}

// Snapshot installation (README §5). Chunks arrive in order from offset 0;
// anything else is answered with how much we hold, and the leader resumes.
void Core::on_snapshot_chunk(NodeId from, const SnapshotChunk& m) {
  if (!follow_ballot(from, m.ballot)) {
    send(from, SnapshotAck{m.ballot, false, promised_, m.slot, 0, false}, false);
    return;
  }
  if (m.slot <= chosen_) {
    incoming_.reset();
    send(from, SnapshotAck{m.ballot, true, promised_, m.slot, m.total_bytes, true},
         !options_.canaries.ack_before_persist);
    return;
  }
  if (m.offset == 0) {
    incoming_ = IncomingSnapshot{m.slot, m.config, m.total_bytes, {}};
  }
  if (!incoming_ || incoming_->slot != m.slot || incoming_->data.size() != m.offset) {
    const std::uint64_t have = incoming_ && incoming_->slot == m.slot ? incoming_->data.size() : 0;
    send(from, SnapshotAck{m.ballot, true, promised_, m.slot, have, false}, false);
    return;
  }
  if (incoming_->total_bytes != m.total_bytes || incoming_->config != m.config) {
    // One snapshot has one size and one configuration: start over.
    incoming_.reset();
    reject(from, "SnapshotChunk", Rejection::snapshot_chunk);
    return;
  }
  incoming_->data += m.data;  // within total_bytes: check_shape
  SYNOD_ASSERT(incoming_->data.size() <= incoming_->total_bytes);
  if (incoming_->data.size() < incoming_->total_bytes) {
    send(from, SnapshotAck{m.ballot, true, promised_, m.slot, incoming_->data.size(), false},
         false);
    return;
  }
  install_snapshot(m.ballot, m.slot, m.config);
  send(from, SnapshotAck{m.ballot, true, promised_, m.slot, m.total_bytes, true},
       !options_.canaries.ack_before_persist);
}

void Core::install_snapshot(Ballot ballot, Slot slot, const Configuration& config) {
  SYNOD_ASSERT(slot > chosen_);
  SYNOD_ASSERT(incoming_.has_value());
  snapshot_ = Snapshot{slot, config,
                       std::make_shared<const std::string>(std::move(incoming_->data))};
  incoming_.reset();
  // Values after the snapshot stay: they are accepted values like any other.
  while (!log_.empty() && log_start_ <= slot) {
    log_.pop_front();
    log_start_ = next(log_start_);
  }
  if (log_.empty()) log_start_ = next(slot);
  configs_.erase(configs_.begin(), configs_.upper_bound(slot));
  chosen_ = slot;
  emitted_ = slot;
  frontier_ballot_ = ballot;
  frontier_ = slot;
  output_.persist.snapshot = snapshot_;
  output_.persist.chosen = slot;
  output_.install_snapshot = snapshot_;
  note(node_name(options_.self) + " installed a snapshot through slot " +
       std::to_string(slot.value()) + " from leader " + std::to_string(ballot.node.value()));
}

}  // namespace synod::consensus
