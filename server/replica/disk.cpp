// Replica: read-only after a disk error, and the way back (replica.h "Disk
// failure"). The simplest safe answer to a disk that cannot persist is the
// one a restart gives: drop everything that was not durable, consensus core
// included, and later rebuild it from what the disk holds.
#include <algorithm>
#include <map>
#include <utility>

#include "base/assert.h"
#include "server/replica/replica.h"

namespace synod::replica {

// The write or sync the disk refused: the core and Storage are dropped with
// every vote they held; the alarm is raised once. A second error while
// failed (a retry's) only counts.
void Replica::disk_failed(const std::string& what) {
  SYNOD_ASSERT(core_ != nullptr && storage_.has_value());
  ++disk_errors_;
  DiskFailure failure;
  failure.why = what;
  failure.durable = storage_->durable_point();
  failure.consensus = core_->status();
  failure.consensus.role = "read-only";
  failure.consensus.leader = no_node;
  failure.config = core_->config_for(next(applied_));
  const std::int64_t window_ms =
      static_cast<std::int64_t>(disk_flap_window_retries * options_.disk_retry_ticks) *
      options_.tick_ms;
  const bool flapped = disk_recovered_ms_ && now_.monotonic_ms - *disk_recovered_ms_ < window_ms;
  disk_retry_backoff_ = flapped ? std::min(disk_retry_backoff_ * 2, disk_retry_backoff_max) : 1;
  failure.retry_in_ticks = options_.disk_retry_ticks * disk_retry_backoff_;
  failure_ = std::move(failure);
  const bool led = core_->is_leader();
  core_.reset();
  storage_.reset();
  sync_gate_ = SyncGate{};
  written_ends_.clear();
  held_batches_.clear();
  was_leader_ = false;
  to_propose_.clear();
  blocked_on_room_ = false;
  answer_writes_in_flight();
  output_.notes.push_back(
      node_name(options_.core.self) + " cannot write its disk (" + what +
      "); it is read-only until it can: it " + (led ? "steps down as leader, " : "") +
      "leaves consensus, refuses writes, serves reads at slot " + std::to_string(applied_.value()) +
      " and tries again every " + std::to_string(options_.disk_retry_ticks * disk_retry_backoff_) +
      " ticks" + (disk_retry_backoff_ > 1 ? " (it failed again soon after it recovered)" : ""));
}

// The writes gathered and never handed on are refused; those proposed or
// forwarded are answered TIMEOUT at once (another replica may still choose
// them: the outcome is unknown), so the connections behind them go on.
void Replica::answer_writes_in_flight() {
  refuse_to_forward(read_only_status());
  const std::map<WriteKey, WriteInFlight> in_flight = std::move(writes_in_flight_);
  writes_in_flight_.clear();
  for (const auto& [key, write] : in_flight) {
    auto client = clients_.find(write.client);
    if (client == clients_.end()) continue;
    protocol::Status unknown = read_only_status();
    unknown.error = protocol::Error::TIMEOUT;
    unknown.message += "; the outcome of this write is unknown";
    complete_write(write.client, client->second, write.request_id,
                   protocol::Response{write.request_id, Zxid{applied_.value()}, unknown, {}},
                   /*restamp=*/true);
  }
}

// A sync (or a snapshot's log sync) begun before the failure finished: what
// it confirmed is durable, so the roll back keeps it.
void Replica::confirmed_durable(const std::optional<wal::DurablePoint>& point,
                                const wal::Status& ran) {
  SYNOD_ASSERT(failure_.has_value());
  if (!ran.ok() || !point) return;
  failure_->durable = std::max(failure_->durable, *point);
}

protocol::Status Replica::read_only_status() const {
  SYNOD_ASSERT(failure_.has_value());
  return protocol::Status{protocol::Error::NOT_LEADER,
                          node_name(options_.core.self) + " cannot write its disk (" +
                              failure_->why + "); it is read-only until it can"};
}

// On each tick while failed: every disk_retry_ticks, once no sync or
// snapshot job still runs against the disk, try to rejoin.
void Replica::maybe_recover_disk() {
  SYNOD_ASSERT(failure_.has_value());
  if (failure_->retry_in_ticks > 0) --failure_->retry_in_ticks;
  if (failure_->retry_in_ticks > 0 || sync_out_ || snapshot_running_) return;
  failure_->retry_in_ticks = options_.disk_retry_ticks * disk_retry_backoff_;
  const auto still = rejoin();
  if (!still || fatal_) return;
  ++disk_errors_;
  failure_->why = *still;
  output_.notes.push_back(node_name(options_.core.self) + "'s disk still fails (" + *still +
                          "); it stays read-only and tries again in " +
                          std::to_string(failure_->retry_in_ticks) + " ticks");
}

// As a restart would: the WAL cut back to its durable point, recovery, a
// write and a sync to prove the disk, then a core built from what is durable.
// nullopt once rejoined; otherwise the disk's sentence (damage is fatal).
std::optional<std::string> Replica::rejoin() {
  if (auto rolled = Storage::roll_back(*disk_, failure_->durable); !rolled.ok()) {
    return rolled.message;
  }
  const consensus::Snapshot start{Slot{0}, initial_, std::make_shared<const std::string>()};
  auto opened = Storage::open(*disk_, options_.wal, start);
  if (!opened.ok()) {
    if (opened.status().error == wal::Code::corrupt) {
      fail("recovery after a disk error found damage: " + opened.status().message);
    }
    return opened.status().message;
  }
  Storage::Opened& o = opened.value();
  if (auto damage = check_recovered(o.durable)) {
    fail("recovery after a disk error found damage: " + *damage);
    return damage;
  }
  if (auto written = o.storage.write_chosen_mark(o.durable.chosen); !written.ok()) {
    failure_->durable = o.storage.durable_point();  // recovery's repairs are durable
    return written.message;
  }
  for (std::string& note : o.notes) output_.notes.push_back("recovery: " + note);
  // A leader's snapshot written just before the failed write, never loaded.
  if (o.durable.snapshot.slot > applied_) install(o.durable.snapshot);
  if (fatal_) return fatal_;
  snapshot_slot_ = std::max(snapshot_slot_, o.durable.snapshot.slot);
  consensus::Durable durable = rebuilt(std::move(o.durable));
  storage_.emplace(std::move(o.storage));
  core_ = std::make_unique<consensus::Core>(options_.core, std::move(durable), prng_);
  output_.notes.push_back(node_name(options_.core.self) +
                          " can write its disk again: it rebuilt its consensus state from what "
                          "is durable and rejoins at slot " +
                          std::to_string(applied_.value()));
  failure_.reset();
  disk_recovered_ms_ = now_.monotonic_ms;
  drain();
  return std::nullopt;
}

// The durable state the new core starts from: the disk's promise and the
// accepted log above the applied slot, under a snapshot of the store as
// applied (kept in memory: every slot it covers is chosen), so the core
// re-delivers nothing the store already holds.
consensus::Durable Replica::rebuilt(consensus::Durable durable) const {
  SYNOD_ASSERT(durable.snapshot.slot <= applied_);
  if (durable.snapshot.slot == applied_) return durable;
  durable.snapshot = consensus::Snapshot{
      applied_, failure_->config, std::make_shared<const std::string>(store_.serialize_snapshot())};
  std::erase_if(durable.log,
                [&](const consensus::AcceptedRecord& r) { return r.slot <= applied_; });
  durable.chosen = std::max(durable.chosen, applied_);
  return durable;
}

}  // namespace synod::replica
