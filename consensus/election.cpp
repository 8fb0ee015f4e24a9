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
  const std::optional<Ballot> ballot = next_own_ballot();
  if (!ballot) {
    become_follower(no_node);
    return;
  }
  Candidate candidate;
  candidate.phase = Candidate::Phase::pre_vote;
  candidate.ballot = *ballot;
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
  const std::optional<Ballot> next_ballot = next_own_ballot();
  if (!next_ballot) {
    become_follower(no_node);
    return;
  }
  const Ballot ballot = *next_ballot;
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
      candidate->ballot != m.ballot || m.from < candidate->from) {
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
  if (m.log_start > m.from || candidate->promises.contains(from)) {
    ++ignored_messages_;
    return;
  }
  gather_promise_page(*candidate, from, m);
}

// README §3.1, promises in pages: an acceptor answers a Prepare with pages
// from its `from`, each naming where the next starts. A promise counts only
// once its pages chain without a hole from our first slot to its log end, so
// no slot is proposed before every counted promise has reported it. Pages
// may arrive in any order; missing ones are asked for again on the tick.
void Core::gather_promise_page(Candidate& candidate, NodeId from, const Promise& page) {
  std::map<Slot, Promise>& pages = candidate.pages[from];
  pages.insert_or_assign(page.from, page);
  // more_from > from on every page (check_shape), so the walk ends.
  std::vector<Slot> chain;
  for (Slot at = candidate.from;;) {
    auto it = pages.find(at);
    if (it == pages.end()) return;  // a hole: wait for that page
    chain.push_back(at);
    if (it->second.more_from == Slot{}) break;
    at = it->second.more_from;
  }
  Promise whole = std::move(pages.at(chain.front()));
  for (std::size_t i = 1; i < chain.size(); ++i) {
    std::vector<PromiseEntry>& more = pages.at(chain[i]).entries;
    whole.entries.insert(whole.entries.end(), std::make_move_iterator(more.begin()),
                         std::make_move_iterator(more.end()));
  }
  whole.more_from = Slot{};
  candidate.pages.erase(from);
  take_promise(candidate, from, std::move(whole));
}

// A complete promise: merged per slot unless it contradicts what the others
// reported (then it is not from an honest acceptor and does not count).
void Core::take_promise(Candidate& candidate, NodeId from, Promise promise) {
  if (promise_conflicts(candidate, promise)) {
    reject(from, "Promise", Rejection::conflicting_value);
    return;
  }
  for (PromiseEntry& e : promise.entries) {
    auto [it, inserted] = candidate.merged.try_emplace(e.slot, e);
    if (inserted) continue;
    PromiseEntry& best = it->second;
    if (!(best.chosen && e.chosen) && (e.chosen || (!best.chosen && e.ballot > best.ballot))) {
      best = std::move(e);
    }
  }
  promise.entries.clear();  // merged holds them now
  candidate.promises[from] = std::move(promise);
  maybe_win();
}

// The first slot each unfinished promise lacks, asked for again.
void Core::request_missing_pages(const Candidate& candidate) {
  for (const auto& [acceptor, pages] : candidate.pages) {
    Slot at = candidate.from;
    for (auto it = pages.find(at); it != pages.end() && it->second.more_from != Slot{};
         it = pages.find(at)) {
      at = it->second.more_from;
    }
    send(acceptor, Prepare{candidate.ballot, at, candidate.transfer}, false);
  }
}

// README §3.1 and §6: win once, for the configuration of our chosen prefix
// and for every configuration the promises reveal after it, a quorum of its
// voters has promised.
void Core::maybe_win() {
  auto& candidate = std::get<Candidate>(role_);
  if (!candidate.promises.contains(options_.self)) return;
  std::vector<NodeId> granted;
  for (const auto& [node, promise] : candidate.promises) granted.push_back(node);
  auto has_quorum = [&](const Configuration& config) {
    std::size_t needed = config.quorum();
    if (options_.canaries.short_quorum && needed > 1) --needed;
    return count_in(config.voters, granted) >= needed;
  };
  if (!has_quorum(chosen_config())) return;
  for (const auto& [slot, e] : candidate.merged) {
    if (e.entry.kind == EntryKind::config && !has_quorum(e.entry.config)) return;
  }
  become_leader();
}

void Core::become_leader() {
  Candidate& candidate = std::get<Candidate>(role_);
  SYNOD_ASSERT(candidate.ballot == promised_);
  SYNOD_ASSERT(candidate.from == next(chosen_));
  const std::map<Slot, PromiseEntry> merged = std::move(candidate.merged);
  const Ballot ballot = candidate.ballot;
  const Slot from = candidate.from;
  const Slot end = merged.empty() ? chosen_ : merged.rbegin()->first;
  SYNOD_ASSERT(log_end() <= end);
  std::size_t adopted = 0;
  for (Slot s = from; s <= end; s = next(s)) {
    auto it = merged.find(s);
    Entry value = Entry::noop();
    if (it != merged.end() && !options_.canaries.skip_promise_adoption) {
      value = it->second.entry;
      ++adopted;
    }
    write_slot(s, ballot, std::move(value));
  }
  Leader leader;
  leader.ballot = ballot;
  leader.from = from;
  leader.first_own = next(end);
  role_ = std::move(leader);
  leader_hint_ = options_.self;
  frontier_ballot_ = ballot;
  // The no-op that opens the leadership: once it is chosen, everything
  // before it is too, and reconfiguration may start (README §6).
  write_slot(next(end), ballot, Entry::noop());
  frontier_ = log_end();
  note(node_name(options_.self) + " became leader at ballot " + to_string(ballot) +
       ", re-proposing " + std::to_string(adopted) + " value(s) in slots " +
       std::to_string(from.value()) + ".." + std::to_string(end.value()));
  sync_peers();
  broadcast(false);
}

}  // namespace synod::consensus
