#include "tests/sim/cluster.h"

#include <algorithm>
#include <cstdio>
#include <deque>
#include <limits>

#include "base/assert.h"
#include "base/hash.h"
#include "consensus/limits.h"
#include "protocol/limits.h"
#include "server/codec/peer.h"

namespace synod::sim {

namespace {

using consensus::Configuration;
using consensus::Core;
using consensus::CoreFacts;
using consensus::Envelope;

// The simulator's state machine is a hash chain over applied entries. Its
// snapshot is "slot:chain:" plus filler, so transfers take several chunks.
std::string encode_state(Slot slot, std::uint64_t chain) {
  std::string data = std::to_string(slot.value()) + ":" + std::to_string(chain) + ":";
  data.append(96, '.');
  return data;
}

std::uint64_t decode_chain(const std::string& data) {
  const auto first = data.find(':');
  const auto second = data.find(':', first + 1);
  return std::stoull(data.substr(first + 1, second - first - 1));
}

std::uint64_t extend_chain(std::uint64_t chain, Slot slot, const consensus::Entry& entry) {
  return base::Hash64{}.u64(chain).u64(slot.value()).u64(consensus::entry_hash(entry)).finish();
}

Configuration initial_configuration(std::uint32_t replicas) {
  Configuration initial;
  for (std::uint32_t i = 1; i <= replicas; ++i) initial.voters.push_back(NodeId{i});
  return initial;
}

}  // namespace

struct Cluster::Replica {
  Replica(NodeId node, SimDisk initial_disk, base::Prng seeded)
      : id(node), disk(std::move(initial_disk)), prng(seeded) {}

  NodeId id;
  SimDisk disk;
  base::Prng prng;  // the core's randomness; reseeded per incarnation
  std::unique_ptr<Core> core;  // null while crashed
  std::uint64_t incarnation = 0;
  std::uint32_t clock_permille = 1000;
  std::uint32_t clock_accumulated = 0;
  std::uint64_t restart_tick = 0;
  // The state machine.
  Slot applied{};
  std::uint64_t chain = 0;
  Slot snapshot_slot{};
  // Votes waiting for their writes to be durable, by persist token.
  std::deque<std::pair<std::uint64_t, std::vector<Envelope>>> waiting;
  std::optional<std::uint64_t> sync_token;
  std::uint64_t sync_done_tick = 0;
};

Cluster::Cluster(const SimOptions& options, bool log_notes)
    : options_(options),
      log_notes_(log_notes),
      prng_(options.seed),
      checker_(initial_configuration(options.replicas)),
      network_(options_) {
  const Configuration initial = initial_configuration(options.replicas);
  for (std::uint32_t i = 1; i <= options_.replicas; ++i) add_replica(NodeId{i}, initial);
  for (std::uint32_t i = 1; i <= options_.spares; ++i) {
    spares_.push_back(NodeId{options_.replicas + i});
  }
}

Cluster::~Cluster() = default;

void Cluster::add_replica(NodeId id, const Configuration& initial) {
  consensus::Snapshot snapshot{Slot{0}, initial,
                               std::make_shared<const std::string>(encode_state(Slot{0}, 0))};
  wal::WalOptions wal;
  wal.segment_bytes_max = options_.wal_segment_bytes;
  auto replica =
      std::make_unique<Replica>(id, SimDisk(snapshot, wal), base::Prng(options_.seed ^ id.value()));
  replica->clock_permille = static_cast<std::uint32_t>(
      prng_.range(options_.clock_permille_min, options_.clock_permille_max));
  Replica& r = *replica;
  replicas_.emplace(id, std::move(replica));
  start(r);
}

void Cluster::start(Replica& r) {
  consensus::Durable durable;
  if (auto refused = r.disk.recover(durable, options_.canary == "forget-promise-on-restart")) {
    checker_.report(node_name(r.id) + ": " + *refused);
    return;
  }
  r.prng = base::Prng(options_.seed * 31 + r.id.value() * 7919 + r.incarnation);
  consensus::Options core_options = options_.core;
  core_options.self = r.id;
  r.applied = durable.snapshot.slot;
  r.snapshot_slot = durable.snapshot.slot;
  r.chain = decode_chain(*durable.snapshot.data);
  r.core = std::make_unique<Core>(core_options, std::move(durable), r.prng);
  if (r.incarnation > 0) {
    checker_.on_restarted(*r.core);
    if (r.applied > Slot{0}) checker_.on_snapshot_installed(r.id, r.applied, r.chain);
  }
  const CoreFacts before = consensus::facts_of(*r.core);
  drain(r);
  after_event(r, before);
}

void Cluster::crash(Replica& r) {
  log_line(node_name(r.id) + " crashes");
  r.disk.crash(prng_);
  r.core.reset();
  r.waiting.clear();
  r.sync_token.reset();
  r.restart_tick = now_ + prng_.range(1, options_.restart_ticks_max);
  ++r.incarnation;
  ++result_.crashes;
}

// Handles every output batch exactly as the server's replica does:
// persist, send, then (when durable) release votes, and apply.
void Cluster::drain(Replica& r) {
  while (r.core && r.core->has_output()) {
    consensus::Output out = r.core->take_output();
    for (const std::string& note : out.notes) log_line(note);
    if (!out.persist.empty()) {
      if (auto refused = r.disk.write(out.persist_token, out.persist)) {
        checker_.report(node_name(r.id) + ": " + *refused);
      }
      if (!r.sync_token) {
        r.sync_token = out.persist_token;
        r.sync_done_tick = now_ + prng_.range(options_.sync_ticks_min, options_.sync_ticks_max);
      }
    }
    for (const Envelope& e : out.send_now) {
      checker_.on_sent(e, false, r.disk.has_unsynced());
      transmit(e);
    }
    if (!out.send_after_persist.empty()) {
      if (out.persist_token <= r.disk.durable_token()) {
        for (const Envelope& e : out.send_after_persist) {
          checker_.on_sent(e, true, false);
          transmit(e);
        }
      } else {
        r.waiting.emplace_back(out.persist_token, std::move(out.send_after_persist));
      }
    }
    apply_chosen(r, out);
    for (const consensus::ReadReady& ready : out.reads) {
      auto it = reads_.find(ready.id);
      if (it == reads_.end()) continue;
      if (!ready.ok) {
        reads_.erase(it);
      } else {
        it->second.index = ready.index;
      }
    }
    serve_reads(r);
  }
}

// A read whose index this replica has applied is served now, at its applied
// point; the checker holds it to everything applied before it began.
void Cluster::serve_reads(Replica& r) {
  for (auto it = reads_.begin(); it != reads_.end();) {
    const Read& read = it->second;
    if (read.node != r.id || !read.index || r.applied < *read.index) {
      ++it;
      continue;
    }
    checker_.on_read_served(r.id, r.applied, read.chosen_before);
    ++result_.reads_served;
    it = reads_.erase(it);
  }
}

void Cluster::reads() {
  std::erase_if(reads_, [&](const auto& kv) {
    const auto it = replicas_.find(kv.second.node);
    return !it->second->core || it->second->incarnation != kv.second.incarnation;
  });
  if (!faults_ || !prng_.chance_permille(options_.read_permille)) return;
  std::vector<Replica*> up = up_replicas();
  if (up.empty()) return;
  Replica& r = *prng_.pick(std::span<Replica*>(up));
  const std::uint64_t id = next_read_++;
  reads_[id] = Read{r.id, r.incarnation, Slot{checker_.slots_chosen()}, std::nullopt};
  const CoreFacts before = consensus::facts_of(*r.core);
  r.core->read_index(id);
  drain(r);
  after_event(r, before);
}

void Cluster::apply_chosen(Replica& r, const consensus::Output& out) {
  if (out.install_snapshot) {
    r.applied = out.install_snapshot->slot;
    r.snapshot_slot = out.install_snapshot->slot;
    r.chain = decode_chain(*out.install_snapshot->data);
    checker_.on_snapshot_installed(r.id, r.applied, r.chain);
    ++result_.snapshots_installed;
  }
  for (const consensus::ChosenEntry& c : out.chosen) {
    if (c.slot != next(r.applied)) {
      checker_.on_applied(r.id, c.slot, c.entry, 0);  // reports the skipped slot
      return;
    }
    r.chain = extend_chain(r.chain, c.slot, c.entry);
    r.applied = c.slot;
    checker_.on_applied(r.id, c.slot, c.entry, r.chain);
    if (c.entry.kind == consensus::EntryKind::command && c.entry.data.starts_with("p")) {
      const std::uint64_t id = std::stoull(c.entry.data.substr(1));
      pending_.erase(id);
      large_.erase(id);
    }
  }
  maybe_snapshot(r);
}

void Cluster::maybe_snapshot(Replica& r) {
  if (r.applied.value() < r.snapshot_slot.value() + options_.snapshot_every) return;
  auto data = std::make_shared<const std::string>(encode_state(r.applied, r.chain));
  std::vector<consensus::AcceptedRecord> tail;
  for (Slot s = next(r.applied); s <= r.core->log_end(); s = next(s)) {
    tail.push_back({s, r.core->ballot_at(s), r.core->entry_at(s)});
  }
  const consensus::Snapshot snapshot{r.applied, r.core->config_for(next(r.applied)), data};
  if (auto refused = r.disk.save_snapshot(snapshot, tail, r.core->chosen())) {
    checker_.report(node_name(r.id) + ": " + *refused);
  }
  r.core->compact(r.applied, data);
  r.snapshot_slot = r.applied;
}

void Cluster::release_durable(Replica& r) {
  while (!r.waiting.empty() && r.waiting.front().first <= r.disk.durable_token()) {
    for (const Envelope& e : r.waiting.front().second) {
      checker_.on_sent(e, true, false);
      transmit(e);
    }
    r.waiting.pop_front();
  }
  r.core->on_persisted(r.disk.durable_token());
}

void Cluster::after_event(Replica& r, const CoreFacts& before) {
  if (r.core) checker_.after_event(*r.core, r.incarnation, before);
}

void Cluster::transmit(const Envelope& envelope) {
  if (!fits_frame(envelope)) return;
  network_.send(envelope, now_, faults_, prng_);
}

bool Cluster::fits_frame(const Envelope& envelope) {
  if (consensus::message_wire_bytes(envelope.message) <= (std::size_t{1} << 20)) return true;
  const std::size_t bytes = codec::encode_envelope(envelope).size();
  if (bytes <= protocol::frame_bytes_max) return true;
  checker_.report(node_name(envelope.from) + " sent a " + std::to_string(bytes) + "-byte " +
                  consensus::message_name(envelope.message) + " to " + node_name(envelope.to) +
                  ": over protocol::frame_bytes_max, so the receiver closes the link on it");
  return false;
}

// "p<id>", padded to its size when large.
consensus::Entry Cluster::proposal(std::uint64_t id) const {
  std::string data = "p" + std::to_string(id);
  if (const auto it = large_.find(id); it != large_.end()) {
    data += ':';
    data.resize(std::max(it->second, data.size()), 'L');
  }
  return consensus::Entry::command(std::move(data));
}

void Cluster::add_proposal(std::size_t bytes) {
  const std::uint64_t id = next_proposal_++;
  pending_.emplace(id, 0);
  if (bytes > 0) large_.emplace(id, bytes);
  ++result_.proposals;
}

void Cluster::tick_replicas() {
  for (auto& [id, r] : replicas_) {
    if (!r->core) continue;
    r->clock_accumulated += r->clock_permille;
    while (r->clock_accumulated >= 1000 && r->core) {
      r->clock_accumulated -= 1000;
      const CoreFacts before = consensus::facts_of(*r->core);
      r->core->tick();
      drain(*r);
      after_event(*r, before);
    }
  }
}

void Cluster::deliver_packets() {
  while (auto envelope = network_.next_due(now_)) {
    auto it = replicas_.find(envelope->to);
    if (it == replicas_.end() || !it->second->core) continue;
    Replica& r = *it->second;
    const CoreFacts before = consensus::facts_of(*r.core);
    r.core->step(envelope->from, envelope->message);
    drain(r);
    after_event(r, before);
  }
}

void Cluster::complete_syncs() {
  for (auto& [id, r] : replicas_) {
    if (!r->core || !r->sync_token || r->sync_done_tick > now_) continue;
    const CoreFacts before = consensus::facts_of(*r->core);
    // Group commit: one sync covers every batch written so far.
    if (auto refused = r->disk.sync()) {
      checker_.report(node_name(id) + ": " + *refused);
    }
    r->sync_token.reset();
    release_durable(*r);
    if (r->disk.written_token() > r->disk.durable_token()) {
      r->sync_token = r->disk.written_token();
      r->sync_done_tick = now_ + prng_.range(options_.sync_ticks_min, options_.sync_ticks_max);
    }
    drain(*r);
    after_event(*r, before);
  }
}

Cluster::Replica* Cluster::leader() {
  Replica* best = nullptr;
  for (auto& [id, r] : replicas_) {
    if (!r->core || !r->core->is_leader()) continue;
    if (best == nullptr || r->core->promised() > best->core->promised()) best = r.get();
  }
  return best;
}

std::vector<Cluster::Replica*> Cluster::up_replicas() {
  std::vector<Replica*> up;
  for (auto& [id, r] : replicas_) {
    if (r->core) up.push_back(r.get());
  }
  return up;
}

void Cluster::fault_schedule() {
  for (auto& [id, r] : replicas_) {
    if (!r->core && r->restart_tick <= now_ && !stay_down_.contains(id)) {
      log_line(node_name(id) + " restarts");
      start(*r);
    }
  }
  if (!faults_) return;
  if (prng_.chance_permille(options_.crash_permille)) {
    std::vector<Replica*> up = up_replicas();
    if (!up.empty()) crash(*prng_.pick(std::span<Replica*>(up)));
  }
  partition_schedule();
  membership_schedule();
}

void Cluster::partition_schedule() {
  std::vector<NodeId> ids;
  for (const auto& [id, r] : replicas_) ids.push_back(id);
  const Replica* l = leader();
  auto changed = network_.schedule(now_, std::move(ids),
                                   l ? std::optional<NodeId>(l->id) : std::nullopt, prng_);
  if (changed) log_line(*changed);
}

void Cluster::membership_schedule() {
  Replica* l = leader();
  if (l == nullptr) return;
  if (prng_.chance_permille(options_.transfer_permille)) {
    std::vector<NodeId> voters = l->core->latest_config().voters;
    std::erase(voters, l->id);
    if (!voters.empty()) {
      const CoreFacts before = consensus::facts_of(*l->core);
      (void)l->core->transfer_leadership(prng_.pick(std::span<NodeId>(voters)));
      drain(*l);
      after_event(*l, before);
    }
  }
  if (!prng_.chance_permille(options_.reconfig_permille) || !l->core) return;
  const Configuration config = l->core->latest_config();
  consensus::MembershipChange change;
  if (!spares_.empty() && prng_.chance(1, 2)) {
    change = {consensus::MembershipChange::Op::add_learner, spares_.front()};
  } else {
    std::vector<NodeId> removable = config.learners;
    if (config.voters.size() > 3) {
      removable.insert(removable.end(), config.voters.begin(), config.voters.end());
    }
    if (removable.empty()) return;
    change = {consensus::MembershipChange::Op::remove, prng_.pick(std::span<NodeId>(removable))};
  }
  const CoreFacts before = consensus::facts_of(*l->core);
  const std::string refused = l->core->change_membership(change);
  if (refused.empty()) {
    ++result_.reconfigurations;
    if (change.op == consensus::MembershipChange::Op::add_learner) {
      spares_.erase(spares_.begin());
      add_replica(change.node, Configuration{});
    }
  }
  drain(*l);
  after_event(*l, before);
}

void Cluster::workload() {
  if (faults_ && pending_.size() < options_.outstanding_max &&
      prng_.chance_permille(options_.propose_permille)) {
    if (large_made_ + 2 <= options_.large_entries_max &&
        prng_.chance_permille(options_.large_entry_permille)) {
      // A few MiB, then one at the limit (or just under it), proposed
      // together: one Accept holding both would pass the frame limit.
      add_proposal((std::size_t{1} << 20) + prng_.below(std::size_t{3} << 20));
      add_proposal(consensus::command_bytes_max - (large_made_ == 0 ? 0 : prng_.below(4096)));
      large_made_ += 2;
    } else {
      add_proposal(0);
    }
  }
  Replica* l = leader();
  if (l == nullptr) return;
  std::vector<consensus::Entry> entries;
  for (auto& [id, last] : pending_) {
    if (last != 0 && now_ - last < options_.retry_ticks) continue;
    entries.push_back(proposal(id));
    last = now_;
    if (entries.size() == 16) break;
  }
  if (entries.empty()) return;
  const CoreFacts before = consensus::facts_of(*l->core);
  (void)l->core->propose(std::move(entries));
  drain(*l);
  after_event(*l, before);
}

// Heals the network and restarts crashed replicas, except that up to
// (voters - 2) / 2 crashed voters stay down: a quorum must suffice, even if
// one configuration change is still pending (README §6 keeps consecutive
// configurations one voter apart, and this bound leaves a quorum of both).
void Cluster::heal() {
  faults_ = false;
  network_.heal();
  const Replica* most = nullptr;
  for (const auto& [id, r] : replicas_) {
    if (r->core && (most == nullptr || r->core->chosen() > most->core->chosen())) most = r.get();
  }
  std::size_t stay_down = 0;
  if (most != nullptr) {
    std::vector<NodeId> voters = most->core->latest_config().voters;
    stay_down = voters.size() >= 2 ? (voters.size() - 2) / 2 : 0;
    if (stay_down > 0) stay_down = static_cast<std::size_t>(prng_.range(0, stay_down));
    prng_.shuffle(std::span<NodeId>(voters));
    for (NodeId voter : voters) {
      auto it = replicas_.find(voter);
      if (stay_down == 0 || it == replicas_.end()) continue;
      if (it->second->core) crash(*it->second);
      stay_down_.insert(voter);
      --stay_down;
    }
  }
  log_line("liveness phase: the network heals; crashed replicas restart except " +
           std::to_string(stay_down_.size()) + " that stay down");
  for (auto& [id, r] : replicas_) {
    if (!r->core && !stay_down_.contains(id)) r->restart_tick = now_;
  }
}

bool Cluster::converged() const {
  if (!pending_.empty()) return false;
  const Replica* most = nullptr;
  for (const auto& [id, r] : replicas_) {
    if (r->core && (most == nullptr || r->core->chosen() > most->core->chosen())) most = r.get();
  }
  if (most == nullptr) return false;
  const Configuration& config = most->core->chosen_config();
  for (const auto& [id, r] : replicas_) {
    if (!config.is_member(id) || stay_down_.contains(id)) continue;
    if (!r->core || r->core->chosen() != most->core->chosen() || r->applied != r->core->chosen()) {
      return false;
    }
  }
  return true;
}

void Cluster::log_line(const std::string& line) const {
  if (log_notes_) std::printf("[%6llu] %s\n", static_cast<unsigned long long>(now_), line.c_str());
}

void Cluster::run_tick() {
  tick_replicas();
  deliver_packets();
  complete_syncs();
  fault_schedule();
  workload();
  reads();
}

RunResult Cluster::run() {
  const std::uint64_t end = options_.fault_ticks + options_.liveness_ticks;
  for (now_ = 1; now_ <= end; ++now_) {
    if (now_ == options_.fault_ticks + 1) heal();
    run_tick();
    if (checker_.failure()) break;
    if (!faults_ && converged()) {
      result_.passed = true;
      break;
    }
  }
  return result();
}

RunResult Cluster::result() {
  result_.ticks = now_;
  result_.messages = network_.sent();
  result_.slots_chosen = checker_.slots_chosen();
  result_.leaderships = checker_.leaderships();
  if (checker_.failure()) {
    result_.passed = false;
    result_.failure = *checker_.failure();
  } else if (!result_.passed) {
    result_.failure = "liveness: " + std::to_string(pending_.size()) +
                      " proposal(s) undecided or members not converged " +
                      std::to_string(options_.liveness_ticks) + " ticks after healing;";
    for (const auto& [id, r] : replicas_) {
      result_.failure += "\n  node " + std::to_string(id.value());
      if (!r->core) {
        result_.failure += " down";
        continue;
      }
      const consensus::Status st = r->core->status();
      result_.failure += std::string(" ") + st.role + " promised " + to_string(st.promised) +
                         " leader " + std::to_string(st.leader.value()) + " log " +
                         std::to_string(st.log_start.value()) + ".." +
                         std::to_string(st.log_end.value()) + " chosen " +
                         std::to_string(st.chosen.value()) + " applied " +
                         std::to_string(r->applied.value()) + " " + to_string(st.config);
    }
  }
  return result_;
}

// ---- scripted runs ----

void Cluster::advance(std::uint64_t ticks) {
  for (std::uint64_t i = 0; i < ticks && !checker_.failure(); ++i) {
    ++now_;
    run_tick();
  }
}

bool Cluster::advance_until(const std::function<bool()>& done, std::uint64_t ticks_max) {
  for (std::uint64_t i = 0; i < ticks_max && !checker_.failure(); ++i) {
    if (done()) return true;
    ++now_;
    run_tick();
  }
  return !checker_.failure() && done();
}

void Cluster::crash_node(NodeId node) {
  Replica& r = *replicas_.at(node);
  SYNOD_ASSERT_MSG(r.core != nullptr, "a scenario crashed a node that is down");
  crash(r);
  r.restart_tick = std::numeric_limits<std::uint64_t>::max();  // until restart_node
}

void Cluster::restart_node(NodeId node) {
  Replica& r = *replicas_.at(node);
  SYNOD_ASSERT_MSG(r.core == nullptr, "a scenario restarted a node that is up");
  log_line(node_name(node) + " restarts");
  start(r);
}

void Cluster::cut(NodeId from, NodeId to) {
  log_line("the link from " + node_name(from) + " to " + node_name(to) + " is cut");
  network_.cut(from, to);
}

void Cluster::isolate(NodeId node) {
  for (const auto& [id, r] : replicas_) {
    if (id == node) continue;
    cut(node, id);
    cut(id, node);
  }
}

void Cluster::reconnect() {
  log_line("the network heals");
  network_.heal();
}

void Cluster::propose(std::size_t count, std::size_t bytes) {
  for (std::size_t i = 0; i < count; ++i) add_proposal(bytes);
}

std::optional<NodeId> Cluster::leader_id() {
  const Replica* l = leader();
  return l ? std::optional<NodeId>(l->id) : std::nullopt;
}

const consensus::Core* Cluster::core_of(NodeId node) const {
  return replicas_.at(node)->core.get();
}

RunResult Cluster::finish() {
  heal();
  const std::uint64_t end = now_ + options_.liveness_ticks;
  while (now_ < end && !checker_.failure()) {
    ++now_;
    run_tick();
    if (!checker_.failure() && converged()) {
      result_.passed = true;
      break;
    }
  }
  return result();
}

}  // namespace synod::sim
