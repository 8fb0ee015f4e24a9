// The Disk port: the only way server/wal touches storage.
//
// Production plugs in a POSIX implementation (server/runtime, later: write,
// fdatasync, rename, fsync of the directory) and calls it from its fsync
// thread; the simulator and the unit tests plug in MemoryDisk
// (memory_disk.h), which loses exactly what this contract allows a crash to
// lose. The API is synchronous; latency is the caller's business.
//
// Names. A name is "file" (in data_dir itself) or "dir/file" (one level:
// "wal/00000000000000000001.log", "snap/...", "meta"). Components use only
// [a-z0-9._-] and are not "." or "..". Directories are implicit: create()
// of "wal/x" brings "wal" into being; sync_dir("wal") makes wal's entries,
// and wal's own existence, durable. A malformed name is a broken invariant.
//
// What is durable when (the crash rules; every implementation honours them
// and MemoryDisk::crash() exercises them):
//   * File contents. append() and truncate() change what read() sees at once
//     but are volatile. sync(name) makes every append and truncate of that
//     file so far durable. A crash keeps the last synced contents plus, in
//     order, some prefix of the later appends/truncates; the last surviving
//     append may be torn: only a prefix of its bytes, possibly followed by
//     garbage, reaches the disk. Synced bytes are never torn by a crash.
//   * Directory entries. create() of a new name, rename() and remove() are
//     volatile until sync_dir() of their directory. A crash keeps the entries
//     as of the last sync_dir plus some prefix, in order, of the later
//     creates/renames/removes of that directory. sync(name) does NOT make the
//     name itself durable.
//   * rename(from, to) is atomic: after any crash `to` names either its old
//     file or all of `from`'s file, never a mix. Combined with "sync the
//     file, then rename, then sync_dir", this is how meta and snapshots are
//     replaced atomically.
//   * Media faults (a flipped bit in synced data) are outside the crash model;
//     MemoryDisk::corrupt() injects them, and the wal formats detect them
//     with CRC32C.
// Errors: a missing file is Code::not_found; any other failure is
// Code::io_error with the OS's reason. After a failed sync the file's durable
// contents are unknown (fsync errors are not retryable); callers stop.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "server/wal/status.h"

namespace synod::wal {

// One file's sync, split in two so it can run off the owner's thread (group
// commit on an fsync thread): Disk::begin_sync fixes, on the owner's thread,
// which appends and truncates it will cover (every one made so far); run()
// makes them durable, as sync(name) would, and may be called on any one
// thread while the owner goes on appending, renaming or removing. It may
// make later changes durable too, never fewer. A job touches nothing else
// of its Disk, which must outlive it. run() is called at most once.
class SyncJob {
 public:
  virtual ~SyncJob() = default;
  [[nodiscard]] virtual Status run() = 0;
};

class Disk {
 public:
  virtual ~Disk() = default;

  // The files directly in `dir` ("" is data_dir itself), as bare names
  // without the "dir/" prefix, sorted ascending. A missing dir lists empty.
  [[nodiscard]] virtual Result<std::vector<std::string>> list(std::string_view dir) = 0;

  // The current length in bytes of an existing file (not_found otherwise).
  [[nodiscard]] virtual Result<std::uint64_t> size(std::string_view name) = 0;

  // Up to `length` bytes from `offset`; fewer only when the file ends first,
  // none when offset >= size.
  [[nodiscard]] virtual Result<std::string> read(std::string_view name, std::uint64_t offset,
                                                 std::uint64_t length) = 0;

  // Creates `name`, or truncates it to empty if it exists.
  [[nodiscard]] virtual Status create(std::string_view name) = 0;

  // Appends bytes at the end of an existing file. Volatile until sync(name).
  [[nodiscard]] virtual Status append(std::string_view name, std::string_view bytes) = 0;

  // Shrinks an existing file to `length` <= size. Volatile until sync(name).
  [[nodiscard]] virtual Status truncate(std::string_view name, std::uint64_t length) = 0;

  // Makes every append and truncate of `name` so far durable (fdatasync).
  [[nodiscard]] virtual Status sync(std::string_view name) = 0;

  // The first half of sync(name) (see SyncJob); not_found when `name` does
  // not exist. sync(name) is begin_sync(name) then run().
  [[nodiscard]] virtual Result<std::unique_ptr<SyncJob>> begin_sync(std::string_view name) = 0;

  // Atomically renames within one directory, replacing `to` if it exists.
  // Volatile until sync_dir of that directory.
  [[nodiscard]] virtual Status rename(std::string_view from, std::string_view to) = 0;

  // Removes a file. Volatile until sync_dir of its directory.
  [[nodiscard]] virtual Status remove(std::string_view name) = 0;

  // Makes every create, rename and remove in `dir` so far durable.
  [[nodiscard]] virtual Status sync_dir(std::string_view dir) = 0;

  // sync_dir(dir) as a SyncJob: it covers every create, rename and remove
  // in `dir` made so far, and may run on another thread while the owner goes
  // on (it touches no other state of the Disk).
  [[nodiscard]] virtual Result<std::unique_ptr<SyncJob>> begin_sync_dir(std::string_view dir) = 0;

  // replace_now(*this, name, bytes) as a SyncJob that may run on another
  // thread: it writes "<name>.tmp", syncs it, renames it over `name` and
  // syncs the directory. The owner touches neither name until the job has
  // run (or is dropped); everything else of the Disk it may go on using.
  [[nodiscard]] virtual Result<std::unique_ptr<SyncJob>> begin_replace(std::string_view name,
                                                                       std::string bytes) = 0;
};

// The suffix of the temp file an atomic replace writes first.
inline constexpr std::string_view replace_temp_suffix = ".tmp";

// "wal/x" -> "wal"; "meta" -> "".
[[nodiscard]] inline std::string_view dir_of(std::string_view name) {
  const auto slash = name.rfind('/');
  return slash == std::string_view::npos ? std::string_view{} : name.substr(0, slash);
}

// True when `name` follows the naming rule above (for SYNOD_ASSERT).
[[nodiscard]] inline bool is_valid_component(std::string_view component) {
  if (component.empty() || component == "." || component == "..") return false;
  for (char c : component) {
    const bool allowed = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
                         c == '_' || c == '-';
    if (!allowed) return false;
  }
  return true;
}

[[nodiscard]] inline bool is_valid_name(std::string_view name) {
  const auto slash = name.find('/');
  if (slash == std::string_view::npos) return is_valid_component(name);
  return is_valid_component(name.substr(0, slash)) &&
         is_valid_component(name.substr(slash + 1));
}

[[nodiscard]] inline bool is_valid_dir(std::string_view dir) {
  return dir.empty() || is_valid_component(dir);
}

// Replaces `name` with `bytes` atomically and durably: create "<name>.tmp",
// append, sync it, rename it over `name`, sync_dir. After any crash `name`
// is the old file or the new one (disk.h's rename rule); a "<name>.tmp" may
// be left behind, which the owner's recovery removes.
[[nodiscard]] inline Status replace_now(Disk& disk, std::string_view name, std::string_view bytes) {
  const std::string temp = std::string(name) + std::string(replace_temp_suffix);
  if (Status status = disk.create(temp); !status.ok()) return status;
  if (Status status = disk.append(temp, bytes); !status.ok()) return status;
  if (Status status = disk.sync(temp); !status.ok()) return status;
  if (Status status = disk.rename(temp, name); !status.ok()) return status;
  return disk.sync_dir(dir_of(name));
}

// The whole file, read in one call.
[[nodiscard]] inline Result<std::string> read_whole(Disk& disk, std::string_view name) {
  auto size = disk.size(name);
  if (!size.ok()) return size.status();
  auto bytes = disk.read(name, 0, size.value());
  if (!bytes.ok()) return bytes.status();
  SYNOD_ASSERT(bytes.value().size() == size.value());
  return bytes;
}

}  // namespace synod::wal
