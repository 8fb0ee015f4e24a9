// PosixDisk: the production Disk port (server/wal/disk.h) over a real data
// dir, plus the data dir's lock and synodd's start-up check of --data-dir.
// Plain POSIX (open, write, pread, ftruncate, fdatasync, fsync, rename,
// unlink, opendir, mkdir, flock); no Asio, no threads.
//
// Names. The Disk name "file" is data_dir/file and "dir/file" is
// data_dir/dir/file. create() makes data_dir and dir on demand (mkdir -p);
// every directory it makes is made durable at once (fsync of its parent), so
// a directory's existence never depends on a later sync_dir.
//
// The crash rules of disk.h hold because each call maps to the kernel call
// with that meaning:
//   append    write(2) on an O_APPEND descriptor (looped over short writes);
//             volatile in the page cache until sync
//   truncate  ftruncate(2); volatile until sync
//   sync      fdatasync(2) of the file: its bytes and size, not its name
//   rename    rename(2), atomic; volatile until sync_dir
//   remove    unlink(2); volatile until sync_dir
//   sync_dir  fsync(2) of the directory; for dir != "" also, once per
//             PosixDisk, of data_dir, so that dir's own entry is durable
//             (disk.h: sync_dir("wal") makes wal's existence durable)
// rename(2) is atomic only against crashes of a journaling or copy-on-write
// file system (ext4, xfs, btrfs); that is synodd's documented requirement.
//
// Behaviour shared with MemoryDisk, checked by tests/unit/runtime's
// conformance test running the same calls on both:
//   * list(dir) returns the regular files of dir whose names are valid Disk
//     components (disk.h), sorted ascending. A missing dir lists empty.
//     Subdirectories, and files named outside the Disk's alphabet (such as
//     DataDirLock's "LOCK"), are not Disk files and are never listed.
//   * A missing file (ENOENT, or ENOTDIR when a path component is a file) is
//     Code::not_found for size, read, append, truncate, sync, rename (of
//     `from`) and remove; sync_dir of a missing dir succeeds and does nothing.
//     (A directory where a file is expected is io_error: a Disk name is never
//     both a file and a directory.)
//   * read() past the end returns fewer bytes, or none; it never allocates
//     more than the file holds.
//   * Malformed names, truncate() to more than the current size and a
//     rename() across directories are broken invariants (SYNOD_ASSERT).
// Every other failure is Code::io_error with the sentence
// "<operation> <path>: <strerror>", e.g.
//   "fdatasync /var/lib/synod/wal/00000000000000000001.log: Input/output error".
// No call throws or aborts on an OS error.
//
// Open files. Files being appended to, truncated or synced keep their
// descriptor in a cache of at most open_files_max entries, least recently
// used evicted first, so an append does not reopen its file. Reads and
// sizes reuse a cached descriptor but never add one (recovery reads many
// files once). rename() and remove() close the descriptors of both names
// first. Closing a descriptor loses nothing: unsynced bytes stay in the page
// cache, and a later fdatasync through a new descriptor still covers them.
//
// Ownership and threads. The data dir belongs to one PosixDisk at a time
// (hold a DataDirLock); a file changed behind its back while its descriptor
// is cached is outside the model. Not thread-safe: one caller at a time, like
// wal::Wal. The one exception is a SyncJob from begin_sync(): it holds its
// own duplicate of the descriptor, so its run() (fdatasync) may go on on the
// fsync thread while the owner appends, renames or removes; fdatasync acts on
// the file, not the descriptor, so it covers every append made before it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/wal/disk.h"
#include "server/wal/status.h"

namespace synod::runtime {

// How many descriptors PosixDisk keeps open by default. The WAL appends to
// one segment at a time and writes meta and snapshots rarely, so 16 never
// evicts a hot file; the bound keeps a long run far from RLIMIT_NOFILE.
inline constexpr std::size_t open_files_max_default = 16;
static_assert(open_files_max_default >= 1);

class PosixDisk final : public wal::Disk {
 public:
  // data_dir: non-empty; need not exist yet (create() makes it).
  // open_files_max: >= 1, the bound of the descriptor cache.
  explicit PosixDisk(std::string data_dir,
                     std::size_t open_files_max = open_files_max_default);
  ~PosixDisk() override;
  PosixDisk(const PosixDisk&) = delete;
  PosixDisk& operator=(const PosixDisk&) = delete;
  PosixDisk(PosixDisk&&) = delete;
  PosixDisk& operator=(PosixDisk&&) = delete;

  wal::Result<std::vector<std::string>> list(std::string_view dir) override;
  wal::Result<std::uint64_t> size(std::string_view name) override;
  wal::Result<std::string> read(std::string_view name, std::uint64_t offset,
                                std::uint64_t length) override;
  wal::Status create(std::string_view name) override;
  wal::Status append(std::string_view name, std::string_view bytes) override;
  wal::Status truncate(std::string_view name, std::uint64_t length) override;
  wal::Status sync(std::string_view name) override;
  wal::Result<std::unique_ptr<wal::SyncJob>> begin_sync(std::string_view name) override;
  wal::Status rename(std::string_view from, std::string_view to) override;
  wal::Status remove(std::string_view name) override;
  wal::Status sync_dir(std::string_view dir) override;
  // Jobs with descriptors of their own (fsync of the directory; the whole
  // replace: open, write, fdatasync, rename, fsync of the directory and of
  // data_dir), so they run on the fsync thread while the owner goes on.
  wal::Result<std::unique_ptr<wal::SyncJob>> begin_sync_dir(std::string_view dir) override;
  wal::Result<std::unique_ptr<wal::SyncJob>> begin_replace(std::string_view name,
                                                           std::string bytes) override;

  [[nodiscard]] const std::string& data_dir() const { return data_dir_; }
  // The absolute or relative path of a Disk name or dir ("" is data_dir).
  [[nodiscard]] std::string path_of(std::string_view name) const;
  // For tests: descriptors currently cached (<= open_files_max).
  [[nodiscard]] std::size_t open_file_count() const { return open_files_.size(); }

 private:
  struct OpenFile {
    std::string name;
    int fd = -1;
    std::uint64_t last_use = 0;
  };

  // The cached descriptor of an existing file, opening (and caching) it if
  // needed; not_found when the file does not exist.
  [[nodiscard]] wal::Result<int> writable_fd(std::string_view name);
  // A cached descriptor, or -1.
  [[nodiscard]] int cached_fd(std::string_view name);
  void cache(std::string_view name, int fd);
  void forget(std::string_view name);
  // Runs `use(fd)` on a cached descriptor or on a read-only one opened for
  // this call only.
  template <class Use>
  [[nodiscard]] auto with_read_fd(std::string_view name, Use use) -> decltype(use(0));

  std::string data_dir_;
  std::size_t open_files_max_;
  std::vector<OpenFile> open_files_;  // at most open_files_max_
  std::uint64_t use_clock_ = 0;
  // Dirs whose entry in data_dir was fsynced by this PosixDisk.
  std::vector<std::string> dirs_entry_durable_;
};

// An exclusive flock(2) on data_dir/LOCK that keeps a second synodd off the
// same data dir. Held from acquire() until the object is destroyed (or moved
// from and the new owner destroyed). The LOCK file stays behind on release;
// only the lock matters, and the kernel drops it if the process dies.
class DataDirLock {
 public:
  // Creates data_dir if needed (mkdir -p), opens data_dir/LOCK and takes
  // flock(LOCK_EX | LOCK_NB), then writes this process's pid into the file.
  // When another open file description holds the lock — another process,
  // or another acquire() in this one, since flock locks belong to open file
  // descriptions — fails with io_error
  //   "data dir /x is in use by another synodd (pid N)"
  // (N is the holder's pid as its file says, or "unknown"). Other failures
  // are io_error "<operation> <path>: <strerror>".
  [[nodiscard]] static wal::Result<DataDirLock> acquire(const std::string& data_dir);

  DataDirLock(DataDirLock&& other) noexcept;
  DataDirLock& operator=(DataDirLock&& other) noexcept;
  DataDirLock(const DataDirLock&) = delete;
  DataDirLock& operator=(const DataDirLock&) = delete;
  ~DataDirLock();

  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  DataDirLock(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}

  std::string path_;  // data_dir/LOCK
  int fd_ = -1;       // -1 once moved from
};

// The name of the lock file inside data_dir. Upper case, so it is never a
// Disk name (disk.h allows [a-z0-9._-]) and never listed.
inline constexpr std::string_view data_dir_lock_file = "LOCK";

// synodd's check of --data-dir before anything else: the path exists or can
// be created (mkdir -p), is a directory, and this process may create files
// in it. io_error with a sentence naming the path otherwise, e.g.
// "data dir /x is not a directory" or "data dir /x is not writable:
// Permission denied".
[[nodiscard]] wal::Status check_data_dir(const std::string& data_dir);

}  // namespace synod::runtime
