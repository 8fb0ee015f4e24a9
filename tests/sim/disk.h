// SimDisk: one replica's disk in the simulator. Writes are volatile until a
// sync covers them. A crash keeps what was synced, plus a random prefix of the
// unsynced writes (the OS may have flushed some); the next write after that
// prefix may be torn, which recovery detects and drops like a lost write.
// Recovery folds the surviving writes into a consensus::Durable.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <utility>
#include <vector>

#include "base/assert.h"
#include "base/prng.h"
#include "consensus/output.h"
#include "consensus/types.h"

namespace synod::sim {

class SimDisk {
 public:
  explicit SimDisk(consensus::Snapshot initial) : initial_(std::move(initial)) {}

  // Writes a batch; durable only once sync_through(token) runs.
  void write(std::uint64_t token, consensus::PersistBatch batch) {
    SYNOD_ASSERT(token > written_token_);
    written_token_ = token;
    volatile_.emplace_back(token, std::move(batch));
  }

  // A snapshot file written atomically and synced before it is used.
  void save_snapshot(const consensus::Snapshot& snapshot) {
    consensus::PersistBatch batch;
    batch.snapshot = snapshot;
    durable_.push_back(std::move(batch));
    // Like a WAL dropping segments the snapshot covers: fold the durable
    // history into one canonical batch so it stays small.
    consensus::Durable folded = fold(durable_, false);
    consensus::PersistBatch canonical;
    canonical.promised = folded.promised;
    canonical.snapshot = folded.snapshot;
    canonical.accepted = std::move(folded.log);
    canonical.chosen = folded.chosen;
    durable_.clear();
    durable_.push_back(std::move(canonical));
  }

  void sync_through(std::uint64_t token) {
    SYNOD_ASSERT(token <= written_token_);
    while (!volatile_.empty() && volatile_.front().first <= token) {
      durable_.push_back(std::move(volatile_.front().second));
      volatile_.pop_front();
    }
    durable_token_ = std::max(durable_token_, token);
  }

  void crash(base::Prng& prng) {
    const std::size_t survivors = static_cast<std::size_t>(prng.below(volatile_.size() + 1));
    for (std::size_t i = 0; i < survivors; ++i) {
      durable_.push_back(std::move(volatile_.front().second));
      volatile_.pop_front();
    }
    volatile_.clear();  // the next one, torn or not, is gone
    written_token_ = 0;
    durable_token_ = 0;
  }

  [[nodiscard]] consensus::Durable recover(bool forget_promise) const {
    return fold(durable_, forget_promise);
  }
  [[nodiscard]] bool has_unsynced() const { return !volatile_.empty(); }
  [[nodiscard]] std::uint64_t durable_token() const { return durable_token_; }

 private:
  [[nodiscard]] consensus::Durable fold(const std::vector<consensus::PersistBatch>& batches,
                                        bool forget_promise) const {
    consensus::Durable d;
    d.snapshot = initial_;
    std::map<Slot, consensus::AcceptedRecord> log;
    for (const consensus::PersistBatch& b : batches) {
      if (b.promised) d.promised = std::max(d.promised, *b.promised);
      if (b.snapshot && b.snapshot->slot > d.snapshot.slot) {
        d.snapshot = *b.snapshot;
        log.erase(log.begin(), log.upper_bound(d.snapshot.slot));
      }
      for (const consensus::AcceptedRecord& r : b.accepted) {
        if (r.slot > d.snapshot.slot) log[r.slot] = r;
      }
      if (b.chosen) d.chosen = std::max(d.chosen, *b.chosen);
    }
    for (auto& [slot, record] : log) {
      SYNOD_ASSERT_MSG(slot == Slot{d.snapshot.slot.value() + d.log.size() + 1},
                       "the durable log has a hole");
      d.log.push_back(record);
    }
    d.chosen = std::max(d.chosen, d.snapshot.slot);
    if (forget_promise) {
      // Canary forget-promise-on-restart: the promise record is lost; only
      // the highest accepted ballot survives.
      d.promised = Ballot{};
      for (const auto& r : d.log) d.promised = std::max(d.promised, r.ballot);
    }
    return d;
  }

  consensus::Snapshot initial_;
  std::vector<consensus::PersistBatch> durable_;
  std::deque<std::pair<std::uint64_t, consensus::PersistBatch>> volatile_;
  std::uint64_t written_token_ = 0;
  std::uint64_t durable_token_ = 0;
};

}  // namespace synod::sim
