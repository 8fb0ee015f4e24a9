// SimDisk: one replica's disk in the simulator — the real server/replica
// Storage (and so the real WAL, snapshot files and meta, and their recovery)
// over server/wal's MemoryDisk. Writes are volatile until sync; a crash keeps
// what was synced plus a random prefix of the rest, possibly with a torn last
// write (wal/memory_disk.h), and recovery runs the production code.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/assert.h"
#include "base/prng.h"
#include "consensus/output.h"
#include "consensus/types.h"
#include "server/replica/storage.h"
#include "server/wal/memory_disk.h"

namespace synod::sim {

class SimDisk {
 public:
  SimDisk(consensus::Snapshot initial, wal::WalOptions options)
      : initial_(std::move(initial)), options_(options) {}

  // Recovers through Storage::open. An error (damage recovery refuses to
  // repair) is returned as a sentence naming file and offset.
  [[nodiscard]] std::optional<std::string> recover(consensus::Durable& out,
                                                   bool forget_promise) {
    auto opened = replica::Storage::open(disk_, options_, initial_);
    if (!opened.ok()) return "recovery failed: " + opened.status().message;
    storage_.emplace(std::move(opened.value().storage));
    out = std::move(opened.value().durable);
    if (forget_promise) {
      // Canary forget-promise-on-restart: the promise is lost; only the
      // highest accepted ballot survives.
      out.promised = Ballot{};
      for (const auto& r : out.log) out.promised = std::max(out.promised, r.ballot);
    }
    written_token_ = 0;
    durable_token_ = 0;
    return std::nullopt;
  }

  [[nodiscard]] std::optional<std::string> write(std::uint64_t token,
                                                 const consensus::PersistBatch& batch) {
    SYNOD_ASSERT(token > written_token_);
    written_token_ = token;
    return check(storage().write(batch));
  }

  [[nodiscard]] std::optional<std::string> sync() {
    durable_token_ = written_token_;
    return check(storage().sync());
  }

  [[nodiscard]] std::optional<std::string> save_snapshot(
      const consensus::Snapshot& snapshot, std::span<const consensus::AcceptedRecord> tail,
      Slot chosen) {
    return check(storage().save_snapshot(snapshot, tail, chosen));
  }

  void crash(base::Prng& prng) {
    storage_.reset();
    disk_.crash(prng);
  }

  [[nodiscard]] bool has_unsynced() const { return storage_ && storage_->has_unsynced(); }
  [[nodiscard]] std::uint64_t written_token() const { return written_token_; }
  [[nodiscard]] std::uint64_t durable_token() const { return durable_token_; }

 private:
  replica::Storage& storage() {
    SYNOD_ASSERT(storage_.has_value());
    return *storage_;
  }
  static std::optional<std::string> check(const wal::Status& status) {
    if (status.ok()) return std::nullopt;
    return "disk: " + status.message;
  }

  consensus::Snapshot initial_;
  wal::WalOptions options_;
  wal::MemoryDisk disk_;
  std::optional<replica::Storage> storage_;
  std::uint64_t written_token_ = 0;
  std::uint64_t durable_token_ = 0;
};

}  // namespace synod::sim
