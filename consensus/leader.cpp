// The leader: phase 2a pipelined and batched, the chosen point, catch-up by
// entries or snapshot, check-quorum, membership changes and transfer.
// consensus/README.md §3.2, §3.3, §5, §6 and §7.
#include <algorithm>

#include "base/assert.h"
#include "consensus/core.h"
#include "consensus/quorum.h"

namespace synod::consensus {


std::uint64_t Core::proposal_room() const {
  const std::uint64_t pending = log_end().value() - chosen_.value();
  return pending >= options_.pending_slots_max ? 0 : options_.pending_slots_max - pending;
}

ProposeResult Core::propose(std::vector<Entry> entries) {
  auto* leader = std::get_if<Leader>(&role_);
  if (leader == nullptr) return ProposeResult{ProposeResult::Kind::not_leader, {}, leader_hint_};
  if (leader->transfer_target) return ProposeResult{ProposeResult::Kind::busy, {}, {}};
  if (entries.size() > proposal_room()) {
    return ProposeResult{ProposeResult::Kind::busy, {}, {}};
  }
  if (!std::all_of(entries.begin(), entries.end(), entry_fits)) {
    return ProposeResult{ProposeResult::Kind::too_large, {}, {}};
  }
  const Slot first = next(log_end());
  for (Entry& entry : entries) {
    SYNOD_ASSERT_MSG(entry.kind != EntryKind::config, "use change_membership");
    write_slot(next(log_end()), leader->ballot, std::move(entry));
  }
  frontier_ = log_end();
  broadcast(false);
  return ProposeResult{ProposeResult::Kind::accepted, first, options_.self};
}

std::string Core::change_membership(MembershipChange change, std::string data) {
  auto* leader = std::get_if<Leader>(&role_);
  if (leader == nullptr) return "not the leader";
  if (leader->transfer_target) return "a leadership transfer is in progress";
  if (chosen_ < leader->first_own) return "this leadership has not chosen its first entry yet";
  if (unchosen_config_slot() && !options_.canaries.two_reconfigs_at_once) {
    return "another configuration change is still being chosen";
  }
  // The canary computes the change from the chosen configuration, ignoring a
  // pending one: two changes at once, which can jump two voters.
  Configuration config = options_.canaries.two_reconfigs_at_once ? chosen_config()
                                                                 : latest_config();
  auto erase = [](std::vector<NodeId>& ids, NodeId id) {
    ids.erase(std::remove(ids.begin(), ids.end(), id), ids.end());
  };
  auto insert = [](std::vector<NodeId>& ids, NodeId id) {
    ids.insert(std::lower_bound(ids.begin(), ids.end(), id), id);
  };
  switch (change.op) {
    case MembershipChange::Op::add_learner:
      if (change.node == no_node || config.is_member(change.node)) return "already a member";
      insert(config.learners, change.node);
      break;
    case MembershipChange::Op::promote:
      if (!config.is_learner(change.node)) return "not a learner";
      erase(config.learners, change.node);
      insert(config.voters, change.node);
      break;
    case MembershipChange::Op::remove:
      if (!config.is_member(change.node)) return "not a member";
      if (config.is_voter(change.node) && config.voters.size() == 1) {
        return "cannot remove the last voter";
      }
      erase(config.voters, change.node);
      erase(config.learners, change.node);
      break;
  }
  SYNOD_ASSERT(config.valid());
  Entry entry = Entry::reconfig(config, std::move(data));
  if (!entry_fits(entry)) return "the change's data is over command_bytes_max";
  write_slot(next(log_end()), leader->ballot, std::move(entry));
  frontier_ = log_end();
  note(node_name(options_.self) + " proposes configuration " + to_string(config) +
       " at slot " + std::to_string(log_end().value()));
  sync_peers();
  broadcast(false);
  return {};
}

std::string Core::transfer_leadership(NodeId target) {
  auto* leader = std::get_if<Leader>(&role_);
  if (leader == nullptr) return "not the leader";
  if (target == options_.self) return "already the leader";
  if (!latest_config().is_voter(target)) return "the target is not a voter";
  leader->transfer_target = target;
  leader->transfer_elapsed = 0;
  note(node_name(options_.self) + " hands leadership to " + node_name(target));
  maybe_finish_transfer();
  return {};
}

// The highest slot the leader may send: its log end, but never past an
// unchosen configuration entry, because that entry decides the quorum of
// every later slot (README §6).
Slot Core::send_limit() const {
  Slot limit = log_end();
  if (auto pending = unchosen_config_slot()) limit = std::min(limit, *pending);
  return limit;
}

// Keeps one Progress per member of every configuration in the log.
void Core::sync_peers() {
  auto& leader = std::get<Leader>(role_);
  const std::vector<NodeId> members = known_members();
  for (NodeId id : members) {
    Progress fresh;
    fresh.next = leader.from;
    fresh.acked_since_check = true;  // a new peer gets one check period of grace
    leader.peers.try_emplace(id, fresh);
  }
  std::erase_if(leader.peers, [&](const auto& kv) {
    return !std::binary_search(members.begin(), members.end(), kv.first);
  });
}

void Core::broadcast(bool heartbeat) {
  auto& leader = std::get<Leader>(role_);
  for (auto& [peer, progress] : leader.peers) maybe_send(leader, peer, heartbeat);
}

void Core::maybe_send(Leader& leader, NodeId peer, bool heartbeat) {
  Progress& progress = leader.peers.at(peer);
  if (progress.next < log_start_) {
    if (!progress.snapshot_sending || heartbeat) send_snapshot_chunk(leader, peer, progress);
    return;
  }
  progress.snapshot_sending = false;
  const Slot limit = std::min({send_limit(),
                               Slot{progress.next.value() + options_.accept_entries_max - 1},
                               Slot{progress.match.value() + options_.inflight_slots_max}});
  if (progress.next <= limit) {
    // Within accept_bytes_max, and at least one entry: every entry fits a
    // message alone (consensus/limits.h).
    Accept accept{leader.ballot, progress.next, {}, chosen_, leader.read_seq};
    std::size_t bytes = 0;
    Slot s = progress.next;
    for (; s <= limit; s = next(s)) {
      bytes += entry_wire_bytes(entry_at(s));
      if (!accept.entries.empty() && bytes > options_.accept_bytes_max) break;
      accept.entries.push_back(entry_at(s));
    }
    progress.next = s;
    send(peer, std::move(accept), false);
  } else if (heartbeat) {
    // Starts at match + 1, not next: entries in flight are no gap, but a
    // peer that restarted below its match answers with one.
    send(peer, Accept{leader.ballot, next(progress.match), {}, chosen_, leader.read_seq}, false);
  }
}

void Core::send_snapshot_chunk(Leader& leader, NodeId peer, Progress& progress) {
  SYNOD_ASSERT(snapshot_.data != nullptr);
  if (!progress.snapshot_sending || progress.snapshot_slot != snapshot_.slot) {
    progress.snapshot_sending = true;
    progress.snapshot_slot = snapshot_.slot;
    progress.snapshot_offset = 0;
    note(node_name(options_.self) + " sends its snapshot through slot " +
         std::to_string(snapshot_.slot.value()) + " (" +
         std::to_string(snapshot_.data->size()) + " bytes) to " + node_name(peer));
  }
  const std::string& data = *snapshot_.data;
  const std::uint64_t offset = std::min<std::uint64_t>(progress.snapshot_offset, data.size());
  const std::uint64_t length =
      std::min<std::uint64_t>(options_.snapshot_chunk_bytes_max, data.size() - offset);
  send(peer,
       SnapshotChunk{leader.ballot, snapshot_.slot, snapshot_.config, offset, data.size(),
                     data.substr(static_cast<std::size_t>(offset),
                                 static_cast<std::size_t>(length))},
       false);
}

// A peer answered with a higher promise: a newer ballot exists, so this
// leadership (or candidacy) is over.
bool Core::step_down_if_outvoted(Ballot promised_by_peer) {
  observe(promised_by_peer);
  if (promised_by_peer <= promised_) return false;
  note(node_name(options_.self) + " steps down: a peer promised ballot " +
       to_string(promised_by_peer));
  become_follower(no_node);
  return true;
}

void Core::on_accepted(NodeId from, const Accepted& m) {
  auto* leader = std::get_if<Leader>(&role_);
  if (leader == nullptr || m.ballot != leader->ballot) {
    if (!m.granted) (void)step_down_if_outvoted(m.promised);
    return;
  }
  if (!m.granted) {
    (void)step_down_if_outvoted(m.promised);
    return;
  }
  auto it = leader->peers.find(from);
  if (it == leader->peers.end()) return;
  Progress& progress = it->second;
  // Only our proposals are accepted at our ballot, and only our rounds
  // echoed: anything beyond is not from an honest acceptor.
  if (m.frontier > log_end()) {
    reject(from, "Accepted", Rejection::beyond_log);
    return;
  }
  if (m.read_seq > leader->read_seq) {
    reject(from, "Accepted", Rejection::read_round);
    return;
  }
  progress.acked_since_check = true;
  progress.silent_ticks = 0;
  progress.read_acked = std::max(progress.read_acked, m.read_seq);
  if (m.frontier > progress.match) progress.stalled_ticks = 0;
  progress.match = std::max(progress.match, m.frontier);
  // A gap answer means the peer restarted or lost a message: resend from
  // its frontier. Otherwise entries past it may still be in flight.
  progress.next = m.gap ? next(m.frontier) : std::max(progress.next, next(m.frontier));
  leader_advance_chosen();
  if (!is_leader()) return;
  maybe_release_reads();
  maybe_send(*leader, from, false);
  maybe_promote_learner();
  maybe_finish_transfer();
}

void Core::on_snapshot_ack(NodeId from, const SnapshotAck& m) {
  auto* leader = std::get_if<Leader>(&role_);
  if (!m.granted) {
    (void)step_down_if_outvoted(m.promised);
    return;
  }
  if (leader == nullptr || m.ballot != leader->ballot) return;
  auto it = leader->peers.find(from);
  if (it == leader->peers.end()) return;
  if (m.slot > log_end()) {
    // We only ever send snapshots of slots in our log.
    reject(from, "SnapshotAck", Rejection::beyond_log);
    return;
  }
  Progress& progress = it->second;
  progress.acked_since_check = true;
  progress.stalled_ticks = 0;
  progress.silent_ticks = 0;
  if (m.installed) {
    progress.snapshot_sending = false;
    progress.match = std::max(progress.match, m.slot);
    progress.next = std::max(progress.next, next(m.slot));
    maybe_send(*leader, from, false);
    return;
  }
  if (!progress.snapshot_sending || m.slot != progress.snapshot_slot) return;
  progress.snapshot_offset = m.next_offset;
  send_snapshot_chunk(*leader, from, progress);
}

// README §3.3: slot s is chosen when a quorum of the voters of the
// configuration governing s accepted it at this ballot. The leader counts
// itself only for what is durable. A configuration entry ends a run: the
// slots after it are counted with its voters.
void Core::leader_advance_chosen() {
  const Slot before = chosen_;
  leader_count_votes();
  auto* leader = std::get_if<Leader>(&role_);
  if (leader == nullptr || chosen_ == before) return;
  // Tell every peer at once, so a follower answering a client does not wait
  // for the next heartbeat to learn its write was chosen. Entries still to
  // send carry the chosen point anyway; a peer taking a snapshot is left alone.
  for (auto& [peer, progress] : leader->peers) {
    if (progress.next < log_start_ || progress.next <= send_limit()) continue;
    send(peer, Accept{leader->ballot, next(progress.match), {}, chosen_, leader->read_seq}, false);
  }
}

void Core::leader_count_votes() {
  auto& leader = std::get<Leader>(role_);
  while (chosen_ < send_limit()) {
    const Slot first = next(chosen_);
    const Configuration& config = config_for(first);
    std::vector<Slot> matches;
    for (NodeId voter : config.voters) {
      if (voter == options_.self) {
        matches.push_back(durable_frontier_ballot_ == leader.ballot ? durable_frontier_ : Slot{});
      } else if (auto it = leader.peers.find(voter); it != leader.peers.end()) {
        matches.push_back(it->second.match);
      }
    }
    std::size_t quorum = config.quorum();
    if (options_.canaries.short_quorum && quorum > 1) --quorum;
    const Slot reached = std::min(quorum_slot(std::move(matches), quorum), send_limit());
    if (reached < first) return;
    advance_chosen(reached);
    if (!is_leader()) return;  // the chosen configuration removed us
    sync_peers();
  }
}

void Core::maybe_promote_learner() {
  const auto& leader = std::get<Leader>(role_);
  if (unchosen_config_slot() || leader.transfer_target || chosen_ < leader.first_own) return;
  for (NodeId learner : latest_config().learners) {
    auto it = leader.peers.find(learner);
    if (it == leader.peers.end()) continue;
    if (it->second.match.value() + options_.promote_lag_slots_max >= chosen_.value()) {
      note(node_name(learner) + " has caught up; promoting it to voter");
      const std::string refused = change_membership({MembershipChange::Op::promote, learner});
      SYNOD_ASSERT_MSG(refused.empty(), refused.c_str());
      return;
    }
  }
}

void Core::maybe_finish_transfer() {
  auto& leader = std::get<Leader>(role_);
  if (!leader.transfer_target) return;
  auto it = leader.peers.find(*leader.transfer_target);
  if (it == leader.peers.end() || it->second.match < log_end()) return;
  send(*leader.transfer_target, TimeoutNow{leader.ballot}, false);
}

void Core::leader_tick(Leader& leader) {
  // Entries in flight whose acknowledgement has not advanced for two
  // heartbeats are presumed lost and are sent again from the match.
  const std::uint32_t retransmit_ticks = 2 * options_.heartbeat_ticks;
  for (auto& [peer, progress] : leader.peers) {
    if (progress.silent_ticks < UINT32_MAX) ++progress.silent_ticks;
    if (++progress.stalled_ticks >= retransmit_ticks && progress.next > next(progress.match)) {
      progress.next = next(progress.match);
      progress.stalled_ticks = 0;
    }
  }
  if (++leader.heartbeat_elapsed >= options_.heartbeat_ticks) {
    leader.heartbeat_elapsed = 0;
    for (auto& [peer, progress] : leader.peers) maybe_send(leader, peer, true);
  }
  if (leader.transfer_target && ++leader.transfer_elapsed >= options_.election_ticks) {
    note(node_name(options_.self) + " abandons the transfer to " +
         node_name(*leader.transfer_target) + ": it did not catch up in time");
    leader.transfer_target.reset();
  }
  if (++leader.check_elapsed < options_.election_ticks) return;
  // Check-quorum (README §4.2): a leader that has not heard from a quorum
  // for an election timeout steps down, so stickiness cannot keep a leader
  // that no longer leads.
  leader.check_elapsed = 0;
  const Configuration& config = chosen_config();
  std::size_t live = config.is_voter(options_.self) ? 1 : 0;
  for (auto& [peer, progress] : leader.peers) {
    if (progress.acked_since_check && config.is_voter(peer)) ++live;
    progress.acked_since_check = false;
  }
  if (live < config.quorum()) {
    note(node_name(options_.self) + " steps down: it heard from only " + std::to_string(live) +
         " of " + std::to_string(config.voters.size()) + " voters in an election timeout");
    become_follower(no_node);
  }
}

}  // namespace synod::consensus
