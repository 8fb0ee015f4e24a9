// Replica: opening, driving the consensus core, applying chosen entries to
// the store, and snapshots.
#include "server/replica/replica.h"

#include <algorithm>

#include "base/assert.h"
#include "server/replica/admission.h"

namespace synod::replica {

namespace {
constexpr std::size_t recently_opened_max = 1 << 14;
}  // namespace

base::CheckStatus ReplicaOptions::validate() const {
  if (auto checked = core.validate(); !checked.ok()) return checked;
  if (tick_ms <= 0) return base::invalid("tick_ms must be >= 1");
  if (snapshot_every == 0) return base::invalid("snapshot_every must be >= 1");
  if (store.sessions_max > store_snapshot_bytes_max / store::snapshot_session_bytes ||
      store.bytes_max >
          store_snapshot_bytes_max - store::snapshot_session_bytes * store.sessions_max) {
    return base::invalid("store.bytes_max plus " + std::to_string(store::snapshot_session_bytes) +
                         " bytes per session (sessions_max) must be at most " +
                         std::to_string(store_snapshot_bytes_max) +
                         ", the largest snapshot a replica writes");
  }
  if (store.data_bytes_max > data_bytes_max_admitted) {
    return base::invalid("store.data_bytes_max must be at most " +
                         std::to_string(data_bytes_max_admitted) +
                         " (one node's data must fit one log entry)");
  }
  if (session_timeout_ms_min <= 0 || session_timeout_ms_min > session_timeout_ms_max) {
    return base::invalid("session timeouts need 0 < min <= max");
  }
  if (session_timeout_ms_min < 2 * tick_ms * core.election_ticks) {
    return base::invalid("session_timeout_ms_min must cover two election timeouts");
  }
  if (request_timeout_ms <= 0) return base::invalid("request_timeout_ms must be >= 1");
  if (disk_retry_ticks == 0) return base::invalid("disk_retry_ticks must be >= 1");
  if (pending_per_client_max == 0) return base::invalid("pending_per_client_max must be >= 1");
  if (watch_replay_page_events == 0) return base::invalid("watch_replay_page_events must be >= 1");
  if (watches.watches_max == 0 || watches.watches_per_client_max == 0) {
    return base::invalid("watches.watches_max and watches.watches_per_client_max must be >= 1");
  }
  if (ttl_removals_per_entry_max == 0 || ttl_removals_per_entry_max > store::ttl_removals_max) {
    return base::invalid("ttl_removals_per_entry_max must be in [1, " +
                         std::to_string(store::ttl_removals_max) + "]");
  }
  if (expire_sessions_per_entry_max == 0 ||
      expire_sessions_per_entry_max > store::expire_sessions_max) {
    return base::invalid("expire_sessions_per_entry_max must be in [1, " +
                         std::to_string(store::expire_sessions_max) + "]");
  }
  return {};
}

// What the consensus core asserts of what it recovers (consensus::Core's
// constructor), checked first: the bytes came from the disk. Storage
// guarantees the log is contiguous after a valid snapshot; rule W1 (a
// promise is durable before anything it allows) that no value was accepted
// above the promise, which only damage breaks.
std::optional<std::string> check_recovered(const consensus::Durable& durable) {
  for (const consensus::AcceptedRecord& record : durable.log) {
    if (record.ballot > durable.promised) {
      return "the value at slot " + std::to_string(record.slot.value()) + " was accepted at " +
             to_string(record.ballot) + ", above the promise " + to_string(durable.promised);
    }
  }
  return std::nullopt;
}

protocol::Result<std::unique_ptr<Replica>> Replica::open(const ReplicaOptions& options,
                                                         wal::Disk& disk, base::Prng& prng,
                                                         const consensus::Configuration& initial,
                                                         Time now) {
  if (auto checked = options.validate(); !checked.ok()) {
    return protocol::Status{protocol::Error::BAD_ARGUMENTS, checked.message};
  }
  const consensus::Snapshot start{Slot{0}, initial, std::make_shared<const std::string>()};
  auto opened = Storage::open(disk, options.wal, start);
  if (!opened.ok()) return protocol::Status{protocol::Error::CORRUPTED, opened.status().message};
  Storage::Opened& o = opened.value();
  if (auto damage = check_recovered(o.durable)) {
    return protocol::Status{protocol::Error::CORRUPTED, *damage};
  }
  auto replica = std::unique_ptr<Replica>(
      new Replica(options, prng, disk, initial, std::move(o.storage), std::move(o.durable), now));
  for (std::string& note : o.notes) replica->output_.notes.push_back("recovery: " + note);
  if (replica->fatal_) return protocol::Status{protocol::Error::CORRUPTED, *replica->fatal_};
  return replica;
}

Replica::Replica(const ReplicaOptions& options, base::Prng& prng, wal::Disk& disk,
                 consensus::Configuration initial, Storage storage, consensus::Durable durable,
                 Time now)
    : options_(options),
      prng_(prng),
      disk_(&disk),
      initial_(std::move(initial)),
      storage_(std::move(storage)),
      store_(options.store),
      watches_(Zxid{durable.snapshot.slot.value()}, options.watches, options.core.self),
      now_(now),
      read_rounds_(options.tick_ms * options.core.election_ticks),
      liveness_(options.tick_ms * options.core.election_ticks, options.core.heartbeat_ticks) {
  applied_ = durable.snapshot.slot;
  snapshot_slot_ = durable.snapshot.slot;
  if (applied_ > Slot{0}) {
    const protocol::Status loaded = store_.load_snapshot(*durable.snapshot.data);
    if (!loaded.ok()) {
      fail("the snapshot at slot " + std::to_string(applied_.value()) +
           " does not load: " + loaded.message);
    }
  }
  liveness_.reload(store_.sessions());
  core_ = std::make_unique<consensus::Core>(options_.core, std::move(durable), prng);
  drain();
}

// Without a core (the disk failed) a peer's message is dropped, as if lost.
void Replica::on_message(NodeId from, const consensus::Message& message) {
  if (!core_) return;
  core_->step(from, message);
  drain();
}

void Replica::on_tick(Time now) {
  const std::int64_t previous_ms = now_.monotonic_ms;
  now_.monotonic_ms = std::max(now_.monotonic_ms, now.monotonic_ms);
  now_.wall_ms = now.wall_ms;
  note_tick_gap(previous_ms);
  if (!core_) {
    expire_requests();
    maybe_recover_disk();
    return;
  }
  core_->tick();
  drain();
  if (core_) session_tick();
  expire_requests();
  // A round whose answer was lost is asked again, for everyone waiting.
  if (auto carried = read_rounds_.give_up_if_lost(now_.monotonic_ms)) {
    liveness_.touch_again(*carried);
  }
  // Reads whose round failed (no leader then) ask again on the next tick,
  // and the keep-alives gathered since the last round go (read_rounds.h).
  start_read_round(/*tick=*/true);
  drain();
}

std::optional<std::string> Replica::sync() {
  auto ticket = begin_sync();
  if (!ticket) return fatal_;
  return finish_sync(*ticket, ticket->pending.run());
}

std::optional<Replica::SyncTicket> Replica::begin_sync() {
  SYNOD_ASSERT_MSG(!sync_out_, "one sync ticket at a time");
  if (fatal_ || !core_) return std::nullopt;
  auto pending = storage_->begin_sync();
  if (!pending.ok()) {
    disk_failed(pending.status().message);
    return std::nullopt;
  }
  sync_out_ = true;
  // The batches whose records all lie below the sync's end: a segment held
  // behind a rotation (wal.h) is not covered by this sync, nor its votes.
  std::uint64_t covered = sync_gate_.durable_token();
  for (const auto& [token, end] : written_ends_) {
    if (end > pending.value().end) break;
    covered = token;
  }
  SyncTicket ticket{covered, std::move(pending.value())};
  if (options_.canaries.skip_wal_sync) ticket.pending.job.reset();
  return ticket;
}

std::optional<std::string> Replica::finish_sync(const SyncTicket& ticket, const wal::Status& ran) {
  sync_out_ = false;
  if (fatal_) return fatal_;
  if (!core_) {
    confirmed_durable(ticket.pending.point, ran);
    return std::nullopt;
  }
  if (auto status = storage_->finish_sync(ticket.pending, ran); !status.ok()) {
    disk_failed(status.message);
    return fatal_;
  }
  write_held_batches();  // the sync made room
  if (!core_) return fatal_;
  if (!sync_gate_.made_durable(ticket.token, output_.send)) {
    drain();
    return fatal_;
  }
  while (!written_ends_.empty() && written_ends_.front().first <= ticket.token) {
    written_ends_.pop_front();
  }
  core_->on_persisted(sync_gate_.durable_token());
  drain();
  return fatal_;
}

// Also when writes wait for WAL room that only a sync makes.
bool Replica::wants_sync() const {
  if (!core_) return false;
  const bool held_for_room = !held_batches_.empty() && !snapshot_running_;
  return sync_gate_.wants_sync() ||
         ((blocked_on_room_ || held_for_room) && storage_->has_unsynced());
}

ReplicaOutput Replica::take_output() {
  flush_writes();
  output_.sync_needed = wants_sync();
  ReplicaOutput out = std::move(output_);
  output_ = ReplicaOutput{};
  return out;
}

ReplicaStatus Replica::status() const {
  ReplicaStatus s;
  s.consensus = core_ ? core_->status() : failure_->consensus;
  if (failure_) s.disk_failure = failure_->why;
  s.disk_errors = disk_errors_;
  s.tick_ms = options_.tick_ms;
  s.applied = applied_;
  s.sessions = store_.session_count();
  s.watches = watches_.count();
  s.watches_refused = watches_.refused_over_budget();
  s.clients = clients_.size();
  s.nodes = store_.node_count();
  s.digest = store_.digest();
  return s;
}

void Replica::check_invariants() const {
  SYNOD_ASSERT(output_.snapshot_job == nullptr || snapshot_running_);
  for (std::size_t i = 1; i < held_batches_.size(); ++i) {
    SYNOD_ASSERT(held_batches_[i - 1].token < held_batches_[i].token);
  }
  SYNOD_ASSERT(held_batches_.empty() || held_batches_.front().token > sync_gate_.written_token());
  SYNOD_ASSERT(snapshot_slot_ <= applied_);
  SYNOD_ASSERT(storage_.has_value() == (core_ != nullptr));
  SYNOD_ASSERT_MSG((core_ == nullptr) == failure_.has_value(),
                   "no core exactly while the disk has failed");
  SYNOD_ASSERT(core_ != nullptr ||
               (sync_gate_.batches_waiting() == 0 && to_propose_.empty() && held_batches_.empty()));
  sync_gate_.check_invariants();
  read_rounds_.check_invariants();
  liveness_.check_invariants(store_);
  watches_.check_invariants();
  for (const auto& [id, replay] : replays_) {
    SYNOD_ASSERT_MSG(clients_.contains(id), "a replay ends with its connection");
    SYNOD_ASSERT(replay.held.size() <= options_.pending_per_client_max);
    SYNOD_ASSERT(replay.after < replay.through && replay.through <= Zxid{applied_.value()});
  }
  std::size_t bound = 0;
  for (const auto& [id, client] : clients_) {
    client.check_invariants();
    if (client.session() == SessionId{0}) continue;
    SYNOD_ASSERT_MSG(session_clients_.contains({client.session(), id}),
                     "every connection acting as a session is indexed by it");
    ++bound;
  }
  SYNOD_ASSERT(session_clients_.size() == bound);
  SYNOD_ASSERT(std::is_sorted(request_deadlines_.begin(), request_deadlines_.end(),
                              [](const auto& a, const auto& b) { return a.first < b.first; }));
}

void Replica::fail(std::string why) {
  if (!fatal_) {
    output_.notes.push_back("fatal: " + why);
    fatal_ = std::move(why);
  }
}

// Drains the core exactly as consensus/output.h orders it: persist, send,
// hold votes until durable, then apply.
void Replica::drain() {
  while (core_ && core_->has_output() && !fatal_) {
    consensus::Output out = core_->take_output();
    for (std::string& note : out.notes) output_.notes.push_back(std::move(note));
    if (!out.persist.empty()) {
      const consensus::PersistBatch& p = out.persist;
      const bool needs_sync = p.promised || p.snapshot || !p.accepted.empty();
      if (p.snapshot || !held_batches_.empty() || storage_->must_wait_for_sync(p)) {
        held_batches_.push_back({out.persist_token, std::move(out.persist), needs_sync, {}});
        write_held_batches();  // starts the snapshot's job when none is out
        if (!core_) return;
      } else if (!write_batch(out.persist_token, p, needs_sync)) {
        return;  // the votes of this batch are never sent
      }
    }
    for (auto& e : out.send_now) output_.send.push_back(std::move(e));
    if (!out.send_after_persist.empty()) {
      if (out.persist_token > sync_gate_.written_token()) {
        // Votes for a batch held behind a snapshot leave after it is written.
        SYNOD_ASSERT(!held_batches_.empty() && held_batches_.back().token == out.persist_token);
        for (auto& e : out.send_after_persist) held_batches_.back().votes.push_back(std::move(e));
      } else {
        sync_gate_.hold(out.persist_token, std::move(out.send_after_persist), output_.send);
      }
    }
    if (out.install_snapshot) install(*out.install_snapshot);
    if (fatal_) return;
    for (const consensus::ChosenEntry& chosen : out.chosen) {
      if (!fatal_) apply(chosen);
    }
    if (fatal_) return;
    for (const std::uint64_t session : out.touched) note_session_active(SessionId{session});
    if (!out.forwarded.empty()) handle_forwarded(std::move(out.forwarded));
    for (const consensus::ReadReady& ready : out.reads) on_read_ready(ready);
    if (!out.chosen.empty()) maybe_snapshot();
    if (!out.chosen.empty() || out.install_snapshot) pump_all();
  }
  if (leading() && !was_leader_) on_became_leader();
  was_leader_ = leading();
}

// One persist batch to the WAL; false (read-only now) when the disk refused it.
bool Replica::write_batch(std::uint64_t token, const consensus::PersistBatch& persist,
                          bool needs_sync) {
  if (auto status = storage_->write_records(persist); !status.ok()) {
    disk_failed(status.message);
    return false;
  }
  sync_gate_.wrote(token, needs_sync);
  written_ends_.emplace_back(token, storage_->next_index());
  return true;
}

// Writes the held batches, in order, while the WAL has room for them, up to
// the next snapshot, whose file becomes the next job ("Held batches").
void Replica::write_held_batches() {
  while (!held_batches_.empty() && !snapshot_running_ && core_) {
    HeldBatch& batch = held_batches_.front();
    if (storage_->must_wait_for_sync(batch.persist)) return;
    if (batch.persist.snapshot) {
      const consensus::Snapshot& snapshot = *batch.persist.snapshot;
      auto file = storage_->begin_install(snapshot);
      if (!file.ok()) {
        disk_failed(file.status().message);
        return;
      }
      snapshot_running_ = true;
      output_.snapshot_job =
          std::unique_ptr<SnapshotJob>(new SnapshotJob(snapshot.slot, std::move(file.value())));
      batch.persist.snapshot.reset();  // its records follow once the file is durable
      return;
    }
    if (!write_batch(batch.token, batch.persist, batch.needs_sync)) return;
    sync_gate_.hold(batch.token, std::move(batch.votes), output_.send);
    held_batches_.pop_front();
  }
}

// A snapshot from the leader (or, after a disk error, one newer on disk than
// what was applied) replaces the store.
void Replica::install(const consensus::Snapshot& snapshot) {
  const protocol::Status loaded = store_.load_snapshot(*snapshot.data);
  if (!loaded.ok()) {
    fail("the snapshot at slot " + std::to_string(snapshot.slot.value()) +
         " does not load: " + loaded.message);
    return;
  }
  applied_ = snapshot.slot;
  snapshot_slot_ = applied_;
  ++snapshots_installed_;
  watches_.reset_history(Zxid{applied_.value()});
  liveness_.reload(store_.sessions());
  drop_watches_after_snapshot();
  if (observer_ != nullptr) observer_->installed(options_.core.self, applied_, store_);
}

void Replica::apply(const consensus::ChosenEntry& chosen) {
  SYNOD_ASSERT(chosen.slot == next(applied_));
  if (chosen.entry.kind == consensus::EntryKind::command) {
    auto decoded = codec::decode_command(chosen.entry.data);
    // Only a leader's own encoding is ever chosen (it decodes forwarded
    // bytes before stamping them), but the bytes come back from the disk
    // (and a hostile peer's Accept): one that does not decode stops this
    // replica before the slot, never asserts. Skipping it would diverge.
    if (!decoded.ok()) {
      fail("the chosen entry at slot " + std::to_string(chosen.slot.value()) +
           " does not decode: " + decoded.status().message);
      return;
    }
    applied_ = chosen.slot;
    apply_command(chosen.slot, decoded.value());
  } else {
    applied_ = chosen.slot;
  }
  if (observer_ != nullptr) {
    observer_->applied(options_.core.self, chosen.slot, chosen.entry, store_);
  }
}

void Replica::apply_command(Slot slot, const codec::LogCommand& command) {
  const Zxid zxid{slot.value()};
  last_log_time_ms_ = std::max(last_log_time_ms_, command.time_ms);
  const store::ApplyResult result =
      store_.apply(zxid, command.time_ms, command.command, command.sequence);
  std::vector<Notification> notifications;
  watches_.on_applied(zxid, result.events, notifications);
  for (Notification& n : notifications) {
    if (!clients_.contains(n.client)) continue;
    if (options_.canaries.drop_watch_event && ++notifications_ % 10 == 0) continue;
    if (options_.canaries.phantom_watch_event && ++notifications_ % 7 == 0) {
      n.event.type = n.event.type == protocol::EventType::data_changed
                         ? protocol::EventType::created
                         : protocol::EventType::data_changed;
    }
    const protocol::Path path = protocol::Path::parse(n.event.path).value();
    emit(n.client, protocol::WatchEvent{std::move(n.event), path, protocol::WatchKind::data});
  }
  after_apply_sessions(command, result);
  auto waiting = writes_in_flight_.find({command.session, command.sequence});
  if (waiting == writes_in_flight_.end()) return;
  const WriteInFlight in_flight = waiting->second;
  // A refused copy (Store::apply: its session already applied this request
  // or a later one) changed nothing. If every slot since the write was
  // handed on was applied here one by one, no earlier copy applied (it
  // would have answered and ended the wait): the write was not executed, and
  // the answer says so, claiming no zxid of its own (a later write's answer
  // follows it on the connection). If a snapshot was installed meanwhile, an
  // earlier copy may have applied inside it: no answer; the client times
  // out, outcome unknown, which is the truth.
  if (result.out_of_order && in_flight.installs != snapshots_installed_) return;
  writes_in_flight_.erase(waiting);
  auto client = clients_.find(in_flight.client);
  if (client == clients_.end()) return;
  complete_write(in_flight.client, client->second, in_flight.request_id,
                 write_response(in_flight.request_id, zxid, result, command.command),
                 /*restamp=*/result.out_of_order);
}

// A snapshot skips the events of every entry it covers, so watches set here
// would miss them silently. Each client that had one is told to set its
// watches again from its last zxid (watch-from-zxid then replays or answers
// COMPACTED): never a silent gap.
void Replica::drop_watches_after_snapshot() {
  for (auto& [id, client] : clients_) {
    if (watches_.count(id) == 0) continue;
    watches_.remove_client(id);
    emit(id, protocol::SessionEvent{protocol::SessionState::moved, client.session(),
                                    "this server caught up from a snapshot; set watches again "
                                    "from your last zxid"});
  }
}

Slot next_snapshot_slot(Slot last, NodeId self, std::uint64_t snapshot_every) {
  SYNOD_ASSERT(snapshot_every >= 1);
  // frac(self * golden ratio), as 32 bits, scaled to the interval.
  const std::uint64_t fraction = (std::uint64_t{self.value()} * 0x9E3779B97F4A7C15ull) >> 32;
  const std::uint64_t offset =
      static_cast<std::uint64_t>((static_cast<unsigned __int128>(fraction) * snapshot_every) >> 32);
  SYNOD_ASSERT(offset < snapshot_every);
  const std::uint64_t earliest = last.value() + std::max<std::uint64_t>(1, snapshot_every / 2);
  std::uint64_t at = earliest / snapshot_every * snapshot_every + offset;
  if (at < earliest) at += snapshot_every;
  SYNOD_ASSERT(at >= earliest && at - earliest < snapshot_every);
  return Slot{at};
}

// Serialises the store and re-appends the log after it here (fast: memory);
// the fsyncs and the file write run as a SnapshotJob off the loop.
void Replica::maybe_snapshot() {
  if (!core_ || snapshot_running_ || applied_ < snapshot_retry_at_) return;
  if (applied_ < next_snapshot_slot(snapshot_slot_, options_.core.self, options_.snapshot_every)) {
    return;
  }
  auto data = std::make_shared<const std::string>(store_.serialize_snapshot());
  std::vector<consensus::AcceptedRecord> tail;
  for (Slot s = next(applied_); s <= core_->log_end(); s = next(s)) {
    tail.push_back({s, core_->ballot_at(s), core_->entry_at(s)});
  }
  const consensus::Snapshot snapshot{applied_, core_->config_for(next(applied_)), data};
  auto begun = storage_->begin_snapshot(snapshot, tail, core_->chosen());
  if (!begun.ok()) {
    disk_failed(begun.status().message);
    return;
  }
  snapshot_running_ = true;
  output_.snapshot_job =
      std::unique_ptr<SnapshotJob>(new SnapshotJob(std::move(begun.value()), std::move(data)));
}

void Replica::finish_snapshot(std::unique_ptr<SnapshotJob> job) {
  SYNOD_ASSERT(job != nullptr && snapshot_running_);
  snapshot_running_ = false;
  if (fatal_) return;
  if (job->install_) {
    finish_install(*job);
    return;
  }
  if (!core_) {
    confirmed_durable(job->write_.tail.point, job->write_.tail_ran);
    return;
  }
  const Slot slot = job->slot();
  const wal::Status finished = storage_->finish_snapshot(job->write_);
  if (!job->write_.tail_ran.ok()) {
    disk_failed(job->write_.tail_ran.message);
    return;
  }
  if (finished.ok() && job->write_.again) {  // another sync round first (storage.h W4)
    snapshot_running_ = true;
    output_.snapshot_job = std::move(job);
    return;
  }
  if (!finished.ok()) {
    write_held_batches();
    const std::uint64_t wait = std::max<std::uint64_t>(1, options_.snapshot_every / 4);
    snapshot_retry_at_ = Slot{applied_.value() + wait};
    output_.notes.push_back("node " + std::to_string(options_.core.self.value()) +
                            " could not write its snapshot at slot " +
                            std::to_string(slot.value()) + ": " + finished.message +
                            "; it keeps its log and tries again in " + std::to_string(wait) +
                            " entries");
    return;
  }
  core_->compact(slot, job->data_);
  snapshot_slot_ = std::max(snapshot_slot_, slot);
  write_held_batches();
  drain();
}

// A leader's snapshot file is durable (or failed: then nothing after it may
// be written, so the disk has failed as a refused write would have).
void Replica::finish_install(SnapshotJob& job) {
  if (!core_) return;  // read-only meanwhile: the held batches went with the core
  if (!job.install_ran_.ok()) {
    storage_->abandon_install(job.install_slot_);
    disk_failed("the snapshot at slot " + std::to_string(job.install_slot_.value()) +
                " was not written: " + job.install_ran_.message);
    return;
  }
  storage_->finish_install(job.install_slot_);
  write_held_batches();
  drain();
}

// The leader's log time: its wall clock, but never behind an entry already
// applied, so log time only moves forward across leaders.
std::int64_t Replica::stamp() {
  last_log_time_ms_ = std::max(last_log_time_ms_, now_.wall_ms);
  return last_log_time_ms_;
}

// Queues commands for the leader to stamp and propose at the next flush. A
// duplicated Forward of a session's write may be proposed twice: the store
// applies it once (Store::apply refuses a session's request at or below its
// last one). An open has no session yet, so a duplicated one is caught here,
// by its nonce.
void Replica::propose_stamped(std::vector<codec::LogCommand> commands) {
  for (codec::LogCommand& c : commands) {
    if (c.session == SessionId{0} && c.sequence != 0) {
      if (!recently_opened_.insert(c.sequence).second) continue;  // a duplicated Forward
      recently_opened_order_.push_back(c.sequence);
      if (recently_opened_order_.size() > recently_opened_max) {
        recently_opened_.erase(recently_opened_order_.front());
        recently_opened_order_.pop_front();
      }
    }
    to_propose_.push_back(std::move(c));
  }
}

void Replica::flush_writes() {
  while (core_ && !fatal_ && (!to_propose_.empty() || !to_forward_.empty())) {
    if (!to_forward_.empty()) forward_batch();
    if (!to_propose_.empty() && !propose_batch()) break;
    drain();  // a leader's own forwards come back here as more to propose
  }
  if (!core_) refuse_to_forward(read_only_status());
}

// Follower: the gathered writes go to the leader as one Forward. With no
// leader known, each is answered NOT_LEADER (it was never handed on).
void Replica::forward_batch() {
  std::vector<consensus::Entry> entries;
  entries.reserve(to_forward_.size());
  for (const ToForward& f : to_forward_) {
    entries.push_back(consensus::Entry::command(codec::encode_command(f.command)));
  }
  if (core_->forward(std::move(entries))) {
    to_forward_.clear();
    return;
  }
  refuse_to_forward(protocol::Status{protocol::Error::NOT_LEADER, "no leader is known; try again"});
}

// Answers every gathered write, never handed on, with `status`.
void Replica::refuse_to_forward(const protocol::Status& status) {
  std::vector<ToForward> batch = std::move(to_forward_);
  to_forward_.clear();
  for (const ToForward& f : batch) {
    writes_in_flight_.erase({f.command.session, f.command.sequence});
    auto client = clients_.find(f.client);
    if (client == clients_.end()) continue;
    (void)client->second.answer_write(
        f.request_id, protocol::Response{f.request_id, Zxid{applied_.value()}, status, {}},
        /*restamp=*/true);
    pump(f.client, client->second);
  }
}

// Leader: stamps and proposes as many gathered writes as fit under
// pending_slots_max, and whose WAL records fit both a batch
// (propose_batch_bytes_max) and what the WAL may still leave unsynced; the
// rest wait for a later flush, after the next sync (backpressure, so one
// append never exceeds the budget). False when none fit.
bool Replica::propose_batch() {
  if (!core_->is_leader()) {
    // Leadership was lost this instant: the clients time out with an
    // unknown outcome, which is what they would see after a crash.
    to_propose_.clear();
    return true;
  }
  const auto count_max =
      static_cast<std::size_t>(std::min<std::uint64_t>(core_->proposal_room(), to_propose_.size()));
  // Room for the batch's chosen mark and its own records' slack.
  constexpr std::uint64_t margin = 4096;
  const std::uint64_t room = storage_->unsynced_room();
  const std::uint64_t budget = std::min(propose_batch_bytes_max, room > margin ? room - margin : 0);
  std::vector<consensus::Entry> entries;
  std::uint64_t bytes = 0;
  const std::int64_t time_ms = stamp();
  std::size_t taken = 0;  // consumed from to_propose_: proposed, or dropped and answered
  for (; taken < count_max; ++taken) {
    to_propose_[taken].time_ms = time_ms;
    auto data = encode_checked(to_propose_[taken]);
    if (!data) continue;
    const std::uint64_t size = wal::record_bytes_on_disk(accepted_record_bytes(data->size()));
    if (bytes + size > budget) break;
    bytes += size;
    entries.push_back(consensus::Entry::command(std::move(*data)));
  }
  if (taken == 0) {
    blocked_on_room_ = count_max > 0;
    return false;
  }
  blocked_on_room_ = false;
  to_propose_.erase(to_propose_.begin(), to_propose_.begin() + static_cast<std::ptrdiff_t>(taken));
  if (entries.empty()) return true;
  const consensus::ProposeResult result = core_->propose(std::move(entries));
  SYNOD_MAYBE(result.kind == consensus::ProposeResult::Kind::accepted);
  return true;
}

// Every entry the leader proposes is its own encoding, decoded here exactly
// as apply() will decode it once chosen: a command the decoder would refuse
// (a bug in whoever built it) is dropped with a sentence, and its waiter, if
// any, answered, instead of being chosen and stopping every replica at that
// slot. Nothing unchecked enters the log.
std::optional<std::string> Replica::encode_checked(const codec::LogCommand& command) {
  std::string bytes = codec::encode_command(command);
  auto decoded = codec::decode_command(bytes);
  if (decoded.ok()) return bytes;
  output_.notes.push_back(
      node_name(options_.core.self) +
      " refused to propose a command the log could not hold: " + decoded.status().message);
  const auto waiting = writes_in_flight_.find({command.session, command.sequence});
  if (waiting == writes_in_flight_.end()) return std::nullopt;
  const WriteInFlight in_flight = waiting->second;
  writes_in_flight_.erase(waiting);
  auto client = clients_.find(in_flight.client);
  if (client == clients_.end()) return std::nullopt;
  complete_write(
      in_flight.client, client->second, in_flight.request_id,
      protocol::Response{in_flight.request_id,
                         Zxid{applied_.value()},
                         protocol::Status{protocol::Error::BAD_ARGUMENTS, decoded.status().message},
                         {}},
      /*restamp=*/true);
  return std::nullopt;
}

// Leader: writes forwarded by followers. Bytes from a peer are checked here,
// before anything is stamped and proposed.
void Replica::handle_forwarded(std::vector<consensus::Entry> entries) {
  std::vector<codec::LogCommand> commands;
  for (const consensus::Entry& entry : entries) {
    auto decoded = codec::decode_command(entry.data);
    if (!decoded.ok() || entry.kind != consensus::EntryKind::command) {
      output_.notes.push_back("dropped a forwarded write that does not decode: " +
                              (decoded.ok() ? std::string("not a command")
                                            : decoded.status().message));
      continue;
    }
    // A follower admitted it; check again what a peer sent (admission.h).
    if (auto admitted = admit_write(decoded.value(), options_.store); !admitted.ok()) {
      output_.notes.push_back("node " + std::to_string(options_.core.self.value()) +
                              " dropped a forwarded write: " + admitted.message);
      continue;
    }
    commands.push_back(std::move(decoded.value()));
  }
  if (!commands.empty() && core_->is_leader()) propose_stamped(std::move(commands));
}

}  // namespace synod::replica
