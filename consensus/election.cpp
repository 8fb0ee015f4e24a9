// Becoming leader: the pre-vote, phase 1a over every unchosen slot, and the
// re-proposal of the highest-ballot value per slot. consensus/README.md §3.1
// and §4.
#include <algorithm>

#include "base/assert.h"
#include "consensus/core.h"

namespace synod::consensus {

namespace {

void insert_sorted_unique(std::vector<NodeId>& ids, NodeId id) {
  auto it = std::lower_bound(ids.begin(), ids.end(), id);
  if (it == ids.end() || *it != id) ids.insert(it, id);
}

std::size_t count_in(const std::vector<NodeId>& voters, const std::vector<NodeId>& granted) {
  return static_cast<std::size_t>(std::count_if(voters.begin(), voters.end(), [&](NodeId v) {
    return std::binary_search(granted.begin(), granted.end(), v);
  }));
}
}  // namespace

// README §4.1: a voter grants when it has not heard from a live leader
// within the election timeout and the candidate knows at least as much of
// the chosen log. Granting changes nothing in the voter.
void Core::on_pre_vote(NodeId from, const PreVote& m) {
  const bool granted = !leader_is_live() && m.chosen >= chosen_;
  send(from, PreVoteReply{m.ballot, granted, promised_}, false);
}

void Core::on_pre_vote_reply(NodeId from, const PreVoteReply& m) {
  observe(m.promised);
  auto* candidate = std::get_if<Candidate>(&role_);
  if (candidate == nullptr || candidate->phase != Candidate::Phase::pre_vote ||
      candidate->ballot != m.ballot || !m.granted) {
    return;
  }
  insert_sorted_unique(candidate->pre_votes, from);
  const Configuration& config = chosen_config();
  if (count_in(config.voters, candidate->pre_votes) >= config.quorum()) start_prepare(false);
}

void Core::on_timeout_now(NodeId from, const TimeoutNow& m) {
  // Only the current leader may ask, and only a voter can win.
  if (m.ballot != promised_ || from != m.ballot.node || is_leader() ||
      !chosen_config().is_voter(options_.self)) {
    ++ignored_messages_;
    return;
  }
  note(node_name(options_.self) + " takes over leadership from " + node_name(from));
  start_prepare(true);
}

void Core::start_pre_vote() {
  const Configuration& config = chosen_config();
  if (!config.is_voter(options_.self)) {
    become_follower(no_node);
    return;
  }
  Candidate candidate;
  candidate.phase = Candidate::Phase::pre_vote;
  candidate.ballot = Ballot{std::max(max_round_seen_, promised_.round) + 1, options_.self};
  candidate.pre_votes.push_back(options_.self);
  role_ = std::move(candidate);
  leader_hint_ = no_node;
  reset_election_timer();
  for (NodeId voter : config.voters) {
    if (voter != options_.self) {
      send(voter, PreVote{std::get<Candidate>(role_).ballot, chosen_}, false);
    }
  }
  if (config.quorum() == 1) start_prepare(false);
}

void Core::start_prepare(bool transfer) {
  const Ballot ballot{std::max(max_round_seen_, promised_.round) + 1, options_.self};
  raise_promise(ballot);
  Candidate candidate;
  candidate.phase = Candidate::Phase::prepare;
  candidate.ballot = ballot;
  candidate.from = next(chosen_);
  candidate.transfer = transfer;
  candidate.self_promise_token = batch_token();
  role_ = std::move(candidate);
  leader_hint_ = no_node;
  reset_election_timer();
  note(node_name(options_.self) + " runs for leader at ballot " + to_string(ballot) +
       " from slot " + std::to_string(next(chosen_).value()));
  for (NodeId peer : known_members()) {
    send(peer, Prepare{ballot, next(chosen_), transfer}, false);
  }
}

Promise Core::own_promise(Ballot ballot, Slot from) const {
  Promise own{ballot, from, true, promised_, log_start_, chosen_, {}};
  for (Slot s = std::max(from, log_start_); s <= log_end(); s = next(s)) {
    own.entries.push_back(PromiseEntry{s, ballot_at(s), entry_at(s), s <= chosen_});
  }
  return own;
}

void Core::on_promise(NodeId from, const Promise& m) {
  observe(m.promised);
  auto* candidate = std::get_if<Candidate>(&role_);
  if (candidate == nullptr || candidate->phase != Candidate::Phase::prepare ||
      candidate->ballot != m.ballot || m.from != candidate->from) {
    if (!m.granted && m.promised > promised_) become_follower(no_node);
    return;
  }
  if (!m.granted) {
    if (m.promised > candidate->ballot) {
      note(node_name(options_.self) + " gives up ballot " + to_string(candidate->ballot) +
           ": " + node_name(from) + " promised " + to_string(m.promised));
      become_follower(no_node);
    }
    return;
  }
  // An acceptor that compacted past our first slot holds chosen values we
  // lack; its promise cannot vouch for them, so it does not count.
  if (m.log_start > candidate->from) {
    ++ignored_messages_;
    return;
  }
  candidate->promises[from] = m;
  maybe_win();
}

// README §3.1 and §6: win once, for the configuration of our chosen prefix
// and for every configuration the promises reveal after it, a quorum of its
// voters has promised. Values merge per slot by highest ballot; a value an
// acceptor knows is chosen outranks every ballot.
void Core::maybe_win() {
  auto& candidate = std::get<Candidate>(role_);
  if (!candidate.promises.contains(options_.self)) return;
  std::map<Slot, PromiseEntry> merged;
  for (const auto& [node, promise] : candidate.promises) {
    for (const PromiseEntry& e : promise.entries) {
      auto [it, inserted] = merged.try_emplace(e.slot, e);
      if (inserted) continue;
      PromiseEntry& best = it->second;
      if (best.chosen && e.chosen) {
        SYNOD_ASSERT_MSG(best.entry == e.entry, "two values chosen for one slot");
      } else if (e.chosen || (!best.chosen && e.ballot > best.ballot)) {
        best = e;
      } else if (!best.chosen && e.ballot == best.ballot) {
        SYNOD_ASSERT_MSG(best.entry == e.entry, "one ballot proposed two values");
      }
    }
  }
  std::vector<NodeId> granted;
  for (const auto& [node, promise] : candidate.promises) granted.push_back(node);
  auto has_quorum = [&](const Configuration& config) {
    std::size_t needed = config.quorum();
    if (options_.canaries.short_quorum && needed > 1) --needed;
    return count_in(config.voters, granted) >= needed;
  };
  if (!has_quorum(chosen_config())) return;
  for (const auto& [slot, e] : merged) {
    if (e.entry.kind == EntryKind::config && !has_quorum(e.entry.config)) return;
  }
  become_leader(merged);
}

void Core::become_leader(const std::map<Slot, PromiseEntry>& merged) {
  const Candidate candidate = std::get<Candidate>(role_);
  SYNOD_ASSERT(candidate.ballot == promised_);
  SYNOD_ASSERT(candidate.from == next(chosen_));
  const Slot end = merged.empty() ? chosen_ : merged.rbegin()->first;
  SYNOD_ASSERT(log_end() <= end);
  std::size_t adopted = 0;
  for (Slot s = candidate.from; s <= end; s = next(s)) {
    auto it = merged.find(s);
    Entry value = Entry::noop();
    if (it != merged.end() && !options_.canaries.skip_promise_adoption) {
      value = it->second.entry;
      ++adopted;
    }
    write_slot(s, candidate.ballot, std::move(value));
  }
  Leader leader;
  leader.ballot = candidate.ballot;
  leader.from = candidate.from;
  leader.first_own = next(end);
  role_ = std::move(leader);
  leader_hint_ = options_.self;
  frontier_ballot_ = candidate.ballot;
  // The no-op that opens the leadership: once it is chosen, everything
  // before it is too, and reconfiguration may start (README §6).
  write_slot(next(end), candidate.ballot, Entry::noop());
  frontier_ = log_end();
  note(node_name(options_.self) + " became leader at ballot " + to_string(candidate.ballot) +
       ", re-proposing " + std::to_string(adopted) + " value(s) in slots " +
       std::to_string(candidate.from.value()) + ".." + std::to_string(end.value()));
  sync_peers();
  broadcast(false);
}

}  // namespace synod::consensus
