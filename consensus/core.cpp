// Core: construction, dispatch, the log, and the output batch.
#include "consensus/core.h"

#include <algorithm>
#include <utility>

#include "base/assert.h"

namespace synod::consensus {

base::CheckStatus Options::validate() const {
  if (self == no_node) return base::invalid("self must be a node id >= 1");
  if (heartbeat_ticks == 0) return base::invalid("heartbeat_ticks must be >= 1");
  if (election_ticks < 2 * heartbeat_ticks)
    return base::invalid("election_ticks must be >= 2 * heartbeat_ticks");
  if (accept_entries_max == 0) return base::invalid("accept_entries_max must be >= 1");
  if (accept_bytes_max == 0 || accept_bytes_max > entry_wire_bytes_max) {
    return base::invalid("accept_bytes_max must be in [1, consensus::entry_wire_bytes_max]");
  }
  if (inflight_slots_max < accept_entries_max) {
    return base::invalid("inflight_slots_max must be >= accept_entries_max");
  }
  if (pending_slots_max < inflight_slots_max) {
    return base::invalid("pending_slots_max must be >= inflight_slots_max");
  }
  if (snapshot_chunk_bytes_max == 0 || snapshot_chunk_bytes_max > snapshot_chunk_bytes_limit) {
    return base::invalid(
        "snapshot_chunk_bytes_max must be in [1, consensus::snapshot_chunk_bytes_limit]");
  }
  return {};
}

const char* message_name(const Message& message) {
  static constexpr const char* names[] = {
      "PreVote",       "PreVoteReply", "Prepare",    "Promise", "Accept",    "Accepted",
      "SnapshotChunk", "SnapshotAck",  "TimeoutNow", "Forward", "Touch",     "ReadIndex",
      "ReadIndexReply"};
  static_assert(std::size(names) == std::variant_size_v<Message>);
  return names[message.index()];
}

Core::Core(Options options, Durable recovered, base::Prng& prng)
    : options_(std::move(options)), prng_(prng) {
  SYNOD_ASSERT_MSG(options_.validate().ok(), options_.validate().message.c_str());
  SYNOD_ASSERT(recovered.snapshot.config.valid());
  promised_ = recovered.promised;
  max_round_seen_ = promised_.round;
  read_nonce_ = prng_.next_u64() | 1;  // never 0, the nonce of a peer that sends none
  snapshot_ = std::move(recovered.snapshot);
  log_start_ = next(snapshot_.slot);
  chosen_ = snapshot_.slot;
  emitted_ = snapshot_.slot;
  for (AcceptedRecord& record : recovered.log) {
    SYNOD_ASSERT(record.slot == next(log_end()));
    SYNOD_ASSERT(record.ballot <= promised_);
    if (record.entry.kind == EntryKind::config) configs_[record.slot] = record.entry.config;
    log_.push_back(LogSlot{record.ballot, std::move(record.entry)});
  }
  // Replay what we knew was chosen, so the owner rebuilds its state machine
  // from the snapshot plus these entries (README §5).
  advance_chosen(std::min(recovered.chosen, log_end()));
  output_.persist.chosen.reset();
  reset_election_timer();
  note(node_name(options_.self) + " started with promise " +
       to_string(promised_) + ", snapshot at slot " + std::to_string(snapshot_.slot.value()) +
       ", log up to slot " + std::to_string(log_end().value()) + ", chosen up to slot " +
       std::to_string(chosen_.value()));
}

void Core::tick() {
  ++ticks_since_leader_;
  if (auto* leader = std::get_if<Leader>(&role_)) {
    leader_tick(*leader);
    return;
  }
  ++election_elapsed_;
  if (auto* candidate = std::get_if<Candidate>(&role_)) {
    if (++candidate->elapsed_ticks >= election_timeout_) {
      start_pre_vote();
    } else if (candidate->phase == Candidate::Phase::prepare &&
               candidate->elapsed_ticks % options_.heartbeat_ticks == 0) {
      request_missing_pages(*candidate);
    }
    return;
  }
  if (election_elapsed_ >= election_timeout_ && chosen_config().is_voter(options_.self)) {
    start_pre_vote();
  }
}

void Core::step(NodeId from, const Message& message) {
  if (const auto rejection = check_shape(from, message)) {
    reject(from, message_name(message), *rejection);
    return;
  }
  std::visit(
      [&](const auto& m) {
        using M = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<M, PreVote>) on_pre_vote(from, m);
        else if constexpr (std::is_same_v<M, PreVoteReply>) on_pre_vote_reply(from, m);
        else if constexpr (std::is_same_v<M, Prepare>) on_prepare(from, m);
        else if constexpr (std::is_same_v<M, Promise>) on_promise(from, m);
        else if constexpr (std::is_same_v<M, Accept>) on_accept(from, m);
        else if constexpr (std::is_same_v<M, Accepted>) on_accepted(from, m);
        else if constexpr (std::is_same_v<M, SnapshotChunk>) on_snapshot_chunk(from, m);
        else if constexpr (std::is_same_v<M, SnapshotAck>) on_snapshot_ack(from, m);
        else if constexpr (std::is_same_v<M, TimeoutNow>) on_timeout_now(from, m);
        else if constexpr (std::is_same_v<M, Forward>) on_forward(from, m);
        else if constexpr (std::is_same_v<M, Touch>) on_touch(from, m);
        else if constexpr (std::is_same_v<M, ReadIndex>) on_read_index(from, m);
        else if constexpr (std::is_same_v<M, ReadIndexReply>) on_read_index_reply(from, m);
      },
      message);
}

void Core::on_persisted(std::uint64_t token) {
  SYNOD_ASSERT(token >= durable_token_);
  SYNOD_ASSERT(token <= issued_token_);
  durable_token_ = token;
  while (!pending_persists_.empty() && pending_persists_.front().token <= token) {
    durable_frontier_ballot_ = pending_persists_.front().frontier_ballot;
    durable_frontier_ = pending_persists_.front().frontier;
    pending_persists_.pop_front();
  }
  if (auto* candidate = std::get_if<Candidate>(&role_)) {
    if (candidate->phase == Candidate::Phase::prepare && candidate->self_promise_token != 0 &&
        candidate->self_promise_token <= token) {
      candidate->self_promise_token = 0;
      take_promise(*candidate, options_.self, own_promise(candidate->ballot, candidate->from));
    }
  } else if (is_leader()) {
    leader_advance_chosen();
    if (is_leader()) maybe_release_reads();
  }
}

void Core::compact(Slot through, std::shared_ptr<const std::string> data) {
  SYNOD_ASSERT(through <= emitted_);
  SYNOD_ASSERT(data != nullptr);
  if (through <= snapshot_.slot) return;
  snapshot_ = Snapshot{through, config_for(next(through)), std::move(data)};
  while (log_start_ <= through) {
    log_.pop_front();
    log_start_ = next(log_start_);
  }
  configs_.erase(configs_.begin(), configs_.upper_bound(through));
  SYNOD_ASSERT(log_start_ == next(through));
  note(node_name(options_.self) + " compacted its log through slot " +
       std::to_string(through.value()));
}

Output Core::take_output() {
  if (!output_.persist.empty()) {
    ++issued_token_;
    pending_persists_.push_back(PendingPersist{issued_token_, frontier_ballot_, frontier_});
  }
  output_.persist_token = issued_token_;
  Output out = std::move(output_);
  output_ = Output{};
  return out;
}

std::uint64_t Core::batch_token() const { return issued_token_ + 1; }

Status Core::status() const {
  Status s;
  s.role = is_leader() ? "leader" : std::holds_alternative<Candidate>(role_) ? "candidate"
                                                                            : "follower";
  s.promised = promised_;
  s.leader = leader_hint_;
  s.log_start = log_start_;
  s.log_end = log_end();
  s.chosen = chosen_;
  s.config = chosen_config();
  s.rejected = rejected_;
  s.ignored = ignored_messages_;
  if (const auto* leader = std::get_if<Leader>(&role_)) {
    for (const auto& [id, p] : leader->peers) {
      s.progress.push_back({id, p.match, p.silent_ticks, p.snapshot_sending, p.snapshot_offset});
    }
  }
  return s;
}

Slot Core::log_end() const { return Slot{log_start_.value() + log_.size() - 1}; }

Core::LogSlot& Core::slot_ref(Slot slot) {
  SYNOD_ASSERT(slot >= log_start_);
  SYNOD_ASSERT(slot <= log_end());
  return log_[static_cast<std::size_t>(slot.value() - log_start_.value())];
}

const Entry& Core::entry_at(Slot slot) const {
  return const_cast<Core*>(this)->slot_ref(slot).entry;
}

Ballot Core::ballot_at(Slot slot) const { return const_cast<Core*>(this)->slot_ref(slot).ballot; }

const Configuration& Core::config_for(Slot slot) const {
  SYNOD_ASSERT_MSG(slot >= log_start_, "the snapshot replaced this slot's configuration");
  auto it = configs_.lower_bound(slot);
  if (it == configs_.begin()) return snapshot_.config;
  return std::prev(it)->second;
}

std::optional<Slot> Core::unchosen_config_slot() const {
  auto it = configs_.upper_bound(chosen_);
  if (it == configs_.end()) return std::nullopt;
  return it->first;
}

// Writes `entry` as accepted at `ballot` in memory and in the persist batch.
// Never below the chosen point: a chosen value never changes (README §10, I2).
void Core::write_slot(Slot slot, Ballot ballot, Entry entry) {
  SYNOD_ASSERT(slot > chosen_);
  SYNOD_ASSERT(slot >= log_start_);
  SYNOD_ASSERT(slot <= next(log_end()));
  SYNOD_ASSERT(ballot <= promised_);
  if (entry.kind == EntryKind::config) {
    SYNOD_ASSERT(entry.config.valid());
    configs_[slot] = entry.config;
  } else {
    configs_.erase(slot);
  }
  output_.persist.accepted.push_back(AcceptedRecord{slot, ballot, entry});
  if (slot == next(log_end())) {
    log_.push_back(LogSlot{ballot, std::move(entry)});
  } else {
    LogSlot& existing = slot_ref(slot);
    existing.ballot = ballot;
    existing.entry = std::move(entry);
  }
}

void Core::raise_promise(Ballot ballot) {
  SYNOD_ASSERT(ballot >= promised_);
  observe(ballot);
  if (ballot == promised_) return;
  promised_ = ballot;
  output_.persist.promised = ballot;
}

void Core::observe(Ballot ballot) { max_round_seen_ = std::max(max_round_seen_, ballot.round); }

// Marks every slot up to `to` chosen and hands the entries out in order. The
// caller has established that each of them holds its chosen value.
void Core::advance_chosen(Slot to) {
  SYNOD_ASSERT(to <= log_end());
  while (chosen_ < to) {
    chosen_ = next(chosen_);
    SYNOD_ASSERT(emitted_ == prev(chosen_));
    const Entry& entry = slot_ref(chosen_).entry;
    output_.chosen.push_back(ChosenEntry{chosen_, entry});
    emitted_ = chosen_;
    if (entry.kind == EntryKind::config) on_config_chosen(chosen_);
  }
  output_.persist.chosen = chosen_;
  if (frontier_ < chosen_) frontier_ = chosen_;
}

void Core::on_config_chosen(Slot slot) {
  const Configuration& config = slot_ref(slot).entry.config;
  note("configuration at slot " + std::to_string(slot.value()) + " is chosen: " +
       to_string(config));
  auto* leader = std::get_if<Leader>(&role_);
  if (leader == nullptr) return;
  if (config.is_voter(options_.self)) return;
  // The leader removed itself: hand over to the most caught-up voter
  // (README §7) and step down. It keeps serving as a follower until gone.
  NodeId best{};
  Slot best_match{};
  for (const auto& [peer, progress] : leader->peers) {
    if (config.is_voter(peer) && (best == no_node || progress.match > best_match)) {
      best = peer;
      best_match = progress.match;
    }
  }
  if (best != no_node) send(best, TimeoutNow{leader->ballot}, false);
  note(node_name(options_.self) +
       " is no longer a voter and hands leadership to node " + std::to_string(best.value()));
  become_follower(no_node);
}

void Core::send(NodeId to, Message message, bool after_persist) {
  SYNOD_ASSERT(to != options_.self);
  SYNOD_ASSERT(to != no_node);
  auto& queue = after_persist ? output_.send_after_persist : output_.send_now;
  queue.push_back(Envelope{options_.self, to, std::move(message)});
}

void Core::note(std::string sentence) { output_.notes.push_back(std::move(sentence)); }

// A round above every round seen, or none once rounds are exhausted (only
// a peer's ballot just below round_limit can do that; README §13).
std::optional<Ballot> Core::next_own_ballot() {
  const std::uint64_t round = std::max(max_round_seen_, promised_.round) + 1;
  if (round < round_limit) return Ballot{round, options_.self};
  note(node_name(options_.self) + " cannot run for leader: ballot round " +
       std::to_string(round - 1) + " is the last below round_limit");
  return std::nullopt;
}

bool Core::leader_is_live() const {
  if (is_leader()) return true;
  return leader_hint_ != no_node && ticks_since_leader_ < options_.election_ticks;
}

std::vector<NodeId> Core::known_members() const {
  std::vector<NodeId> ids;
  auto add = [&](const Configuration& config) {
    ids.insert(ids.end(), config.voters.begin(), config.voters.end());
    ids.insert(ids.end(), config.learners.begin(), config.learners.end());
  };
  add(snapshot_.config);
  for (const auto& [slot, config] : configs_) add(config);
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  ids.erase(std::remove(ids.begin(), ids.end(), options_.self), ids.end());
  return ids;
}

void Core::reset_election_timer() {
  election_elapsed_ = 0;
  election_timeout_ = options_.election_ticks +
                      static_cast<std::uint32_t>(prng_.below(options_.election_ticks));
}

void Core::become_follower(NodeId leader) {
  if (auto* was = std::get_if<Leader>(&role_)) fail_reads(*was);
  if (!std::holds_alternative<Follower>(role_)) {
    note(node_name(options_.self) + " became a follower at promise " +
         to_string(promised_));
  }
  role_ = Follower{};
  leader_hint_ = leader;
  reset_election_timer();
}

}  // namespace synod::consensus
