// MemoryDisk: the in-memory Disk (disk.h) for unit tests and tests/sim.
//
// It keeps two views of everything: what read() sees now, and what a crash
// would keep for certain (the durable view). Volatile operations since the
// last sync are remembered in order, so crash(prng) can keep a random prefix
// of them, exactly as disk.h's crash rules allow and no more:
//
//   * per file: the durable bytes, then a prefix of the later appends and
//     truncates; the last kept append may be torn (a prefix of its bytes,
//     then possibly garbage bytes);
//   * per directory: the durable entries, then a prefix of the later
//     creates, renames and removes.
//
// Files are inodes that directory entries point at, so "rename a synced temp
// file over meta, crash before sync_dir" leaves meta naming the old inode or
// the new one, never a mix. Everything is deterministic given the Prng and
// the sequence of calls; maps are ordered, so no hash order leaks.
//
// Limits: it holds everything in memory; a test that appends gigabytes gets
// what it asked for. Volatile history is dropped at each sync, so it stays
// bounded by what the caller leaves unsynced (Wal bounds that by
// unsynced_bytes_max).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/prng.h"
#include "server/wal/disk.h"

namespace synod::wal {

class MemoryDisk final : public Disk {
 public:
  MemoryDisk() = default;

  Result<std::vector<std::string>> list(std::string_view dir) override;
  Result<std::uint64_t> size(std::string_view name) override;
  Result<std::string> read(std::string_view name, std::uint64_t offset,
                           std::uint64_t length) override;
  Status create(std::string_view name) override;
  Status append(std::string_view name, std::string_view bytes) override;
  Status truncate(std::string_view name, std::uint64_t length) override;
  Status sync(std::string_view name) override;
  // The job must run on the thread that uses the MemoryDisk (it is not
  // thread-safe); tests/sim runs it later to model a slow fsync.
  Result<std::unique_ptr<SyncJob>> begin_sync(std::string_view name) override;
  Status rename(std::string_view from, std::string_view to) override;
  Status remove(std::string_view name) override;
  Status sync_dir(std::string_view dir) override;
  // Jobs that run the call when run() is called (on this thread).
  Result<std::unique_ptr<SyncJob>> begin_sync_dir(std::string_view dir) override;
  Result<std::unique_ptr<SyncJob>> begin_replace(std::string_view name, std::string bytes) override;

  // The machine loses power: every file and directory falls back to its
  // durable view plus a prng-chosen prefix of its volatile operations (see
  // the top of this file). Afterwards everything that survived is durable.
  void crash(base::Prng& prng);

  // Media fault: flips every bit of the byte at `offset` of an existing file,
  // in both the current and the durable view. offset < size(name).
  void corrupt(std::string_view name, std::uint64_t offset);

  // For tests: whether `name` exists now, and its current bytes (asserts it
  // exists).
  [[nodiscard]] bool exists(std::string_view name) const;
  [[nodiscard]] const std::string& contents(std::string_view name) const;

  // For tests: how many sync() and sync_dir() calls succeeded (group commit
  // is visible as one sync covering many appends).
  [[nodiscard]] std::uint64_t sync_count() const { return sync_count_; }
  [[nodiscard]] std::uint64_t sync_dir_count() const { return sync_dir_count_; }

  // For tests: the next `count` calls of sync() fail with io_error and make
  // nothing durable.
  void fail_next_syncs(std::uint32_t count) { sync_failures_pending_ = count; }
  // For tests: the next `count` calls of append() fail with io_error
  // "Input/output error" (EIO) and write nothing.
  void fail_next_appends(std::uint32_t count) { append_failures_pending_ = count; }

  // For tests and the simulator: a full disk. While set, the files together
  // may hold at most `bytes` (what read() sees); an append that does not fit
  // writes the part that does and fails with io_error "No space left on
  // device", as write(2) does. nullopt: no limit (the default).
  void set_space_bytes(std::optional<std::uint64_t> bytes) { space_bytes_ = bytes; }
  [[nodiscard]] std::uint64_t used_bytes() const;
  // For tests: how many begin_replace() jobs have run (snapshot writes).
  [[nodiscard]] std::uint64_t replaces_run() const { return replaces_run_; }

 private:
  using InodeId = std::uint64_t;

  // A volatile change to a file's bytes: append `bytes`, or truncate to
  // `length`.
  struct DataOp {
    bool is_truncate = false;
    std::uint64_t length = 0;
    std::string bytes;
  };

  struct Inode {
    std::string current;
    std::string durable;
    std::vector<DataOp> pending;
    std::uint64_t ops_settled = 0;  // ops that left `pending` (synced or crashed)
  };

  class Job;
  Status run_job(InodeId id, std::uint64_t ops_end, std::string_view name);

  // A volatile change to one directory, applied atomically: each entry of
  // `changes` sets a name to an inode, or unlinks it (nullopt). A rename is
  // two changes in one op.
  struct DirOp {
    std::vector<std::pair<std::string, std::optional<InodeId>>> changes;
  };

  struct Directory {
    std::map<std::string, InodeId, std::less<>> current;
    std::map<std::string, InodeId, std::less<>> durable;
    std::vector<DirOp> pending;
  };

  // Splits "dir/file" into the directory (created on demand) and the file.
  Directory& directory_of(std::string_view name, std::string_view* file);
  const Directory* find_directory(std::string_view dir) const;
  std::optional<InodeId> lookup(std::string_view name) const;
  static void apply(std::map<std::string, InodeId, std::less<>>& entries, const DirOp& op);
  static void crash_inode(Inode& inode, base::Prng& prng);
  static void crash_directory(Directory& directory, base::Prng& prng);
  void forget_unreachable_inodes();

  std::map<std::string, Directory, std::less<>> directories_;
  std::map<InodeId, Inode> inodes_;
  InodeId inode_next_ = 1;
  std::uint64_t sync_count_ = 0;
  std::uint64_t sync_dir_count_ = 0;
  std::uint32_t sync_failures_pending_ = 0;
  std::uint32_t append_failures_pending_ = 0;
  std::optional<std::uint64_t> space_bytes_;
  std::uint64_t replaces_run_ = 0;
};

}  // namespace synod::wal
