#include "server/wal/memory_disk.h"

#include <functional>

#include <algorithm>
#include <set>
#include <utility>

namespace synod::wal {

namespace {

Status missing(std::string_view name) {
  return error_status(Code::not_found, std::string(name) + ": no such file");
}

// The last kept append of a crash reaches the disk only in part: `kept`
// bytes of it, then `garbage` random bytes (either may be the whole write
// or nothing).
void append_torn(std::string& bytes, std::string_view write, base::Prng& prng) {
  const auto kept = static_cast<std::size_t>(prng.below(write.size() + 1));
  const auto garbage = static_cast<std::size_t>(prng.below(write.size() - kept + 1));
  const std::size_t size_before = bytes.size();
  bytes.append(write.substr(0, kept));
  for (std::size_t i = 0; i < garbage; ++i) {
    bytes.push_back(static_cast<char>(prng.below(256)));
  }
  SYNOD_ASSERT(bytes.size() <= size_before + write.size());
}

}  // namespace

MemoryDisk::Directory& MemoryDisk::directory_of(std::string_view name, std::string_view* file) {
  SYNOD_ASSERT_MSG(is_valid_name(name), "a Disk name is \"file\" or \"dir/file\"");
  const std::string_view dir = dir_of(name);
  *file = dir.empty() ? name : name.substr(dir.size() + 1);
  auto found = directories_.find(dir);
  if (found == directories_.end()) {
    found = directories_.emplace(std::string(dir), Directory{}).first;
  }
  return found->second;
}

const MemoryDisk::Directory* MemoryDisk::find_directory(std::string_view dir) const {
  const auto found = directories_.find(dir);
  return found == directories_.end() ? nullptr : &found->second;
}

std::optional<MemoryDisk::InodeId> MemoryDisk::lookup(std::string_view name) const {
  SYNOD_ASSERT_MSG(is_valid_name(name), "a Disk name is \"file\" or \"dir/file\"");
  const std::string_view dir = dir_of(name);
  const Directory* directory = find_directory(dir);
  if (directory == nullptr) return std::nullopt;
  const auto found = directory->current.find(dir.empty() ? name : name.substr(dir.size() + 1));
  if (found == directory->current.end()) return std::nullopt;
  SYNOD_ASSERT(inodes_.contains(found->second));
  return found->second;
}

void MemoryDisk::apply(std::map<std::string, InodeId, std::less<>>& entries, const DirOp& op) {
  for (const auto& [file, inode] : op.changes) {
    if (inode.has_value()) {
      entries[file] = *inode;
    } else {
      entries.erase(file);
    }
  }
}

Result<std::vector<std::string>> MemoryDisk::list(std::string_view dir) {
  SYNOD_ASSERT(is_valid_dir(dir));
  std::vector<std::string> files;
  if (const Directory* directory = find_directory(dir)) {
    for (const auto& [file, inode] : directory->current) files.push_back(file);
  }
  return files;
}

Result<std::uint64_t> MemoryDisk::size(std::string_view name) {
  const auto inode = lookup(name);
  if (!inode) return missing(name);
  return std::uint64_t{inodes_.at(*inode).current.size()};
}

Result<std::string> MemoryDisk::read(std::string_view name, std::uint64_t offset,
                                     std::uint64_t length) {
  const auto inode = lookup(name);
  if (!inode) return missing(name);
  const std::string& bytes = inodes_.at(*inode).current;
  if (offset >= bytes.size()) return std::string{};
  return bytes.substr(static_cast<std::size_t>(offset), static_cast<std::size_t>(length));
}

Status MemoryDisk::create(std::string_view name) {
  if (const auto existing = lookup(name)) {
    Inode& inode = inodes_.at(*existing);
    inode.current.clear();
    inode.pending.push_back(DataOp{.is_truncate = true, .length = 0, .bytes = {}});
    return Status{};
  }
  std::string_view file;
  Directory& directory = directory_of(name, &file);
  const InodeId id = inode_next_++;
  inodes_.emplace(id, Inode{});
  DirOp op;
  op.changes.emplace_back(std::string(file), id);
  apply(directory.current, op);
  directory.pending.push_back(std::move(op));
  return Status{};
}

std::uint64_t MemoryDisk::used_bytes() const {
  std::uint64_t used = 0;
  for (const auto& [id, inode] : inodes_) used += inode.current.size();
  return used;
}

// With a space limit, as write(2) on a full disk: what fits is written, then
// the call fails with ENOSPC's sentence.
Status MemoryDisk::append(std::string_view name, std::string_view bytes) {
  const auto inode = lookup(name);
  if (!inode) return missing(name);
  if (append_failures_pending_ > 0) {
    --append_failures_pending_;
    return error_status(Code::io_error,
                        "write " + std::string(name) + ": Input/output error (MemoryDisk)");
  }
  Inode& target = inodes_.at(*inode);
  bool full = false;
  if (space_bytes_) {
    const std::uint64_t used = used_bytes();
    const std::uint64_t free = *space_bytes_ > used ? *space_bytes_ - used : 0;
    if (bytes.size() > free) {
      bytes = bytes.substr(0, static_cast<std::size_t>(free));
      full = true;
    }
  }
  if (!bytes.empty()) {
    target.current.append(bytes);
    target.pending.push_back(
        DataOp{.is_truncate = false, .length = 0, .bytes = std::string(bytes)});
  }
  if (full) {
    return error_status(Code::io_error,
                        "write " + std::string(name) + ": No space left on device (MemoryDisk)");
  }
  return Status{};
}

Status MemoryDisk::truncate(std::string_view name, std::uint64_t length) {
  const auto inode = lookup(name);
  if (!inode) return missing(name);
  Inode& target = inodes_.at(*inode);
  SYNOD_ASSERT_MSG(length <= target.current.size(), "truncate() only shrinks");
  target.current.resize(static_cast<std::size_t>(length));
  target.pending.push_back(DataOp{.is_truncate = true, .length = length, .bytes = {}});
  return Status{};
}

Status MemoryDisk::sync(std::string_view name) {
  const auto inode = lookup(name);
  if (!inode) return missing(name);
  if (sync_failures_pending_ > 0) {
    --sync_failures_pending_;
    return error_status(Code::io_error, std::string(name) + ": sync failed (injected fault)");
  }
  Inode& target = inodes_.at(*inode);
  target.durable = target.current;
  target.ops_settled += target.pending.size();
  target.pending.clear();
  ++sync_count_;
  return Status{};
}

class MemoryDisk::Job final : public SyncJob {
 public:
  Job(MemoryDisk& disk, InodeId id, std::uint64_t ops_end, std::string name)
      : disk_(&disk), id_(id), ops_end_(ops_end), name_(std::move(name)) {}
  Status run() override { return disk_->run_job(id_, ops_end_, name_); }

 private:
  MemoryDisk* disk_;
  InodeId id_;
  std::uint64_t ops_end_;  // the job covers the inode's ops before this one
  std::string name_;
};

Result<std::unique_ptr<SyncJob>> MemoryDisk::begin_sync(std::string_view name) {
  const auto inode = lookup(name);
  if (!inode) return missing(name);
  const Inode& target = inodes_.at(*inode);
  return std::unique_ptr<SyncJob>(std::make_unique<Job>(
      *this, *inode, target.ops_settled + target.pending.size(), std::string(name)));
}

// Makes the inode's ops before `ops_end` durable, in order; later ones stay
// volatile. An inode gone meanwhile (removed and unreachable) has nothing left
// to make durable.
Status MemoryDisk::run_job(InodeId id, std::uint64_t ops_end, std::string_view name) {
  if (sync_failures_pending_ > 0) {
    --sync_failures_pending_;
    return error_status(Code::io_error, std::string(name) + ": sync failed (injected fault)");
  }
  ++sync_count_;
  const auto found = inodes_.find(id);
  if (found == inodes_.end()) return Status{};
  Inode& inode = found->second;
  if (ops_end <= inode.ops_settled) return Status{};
  const auto count = static_cast<std::size_t>(
      std::min<std::uint64_t>(ops_end - inode.ops_settled, inode.pending.size()));
  for (std::size_t i = 0; i < count; ++i) {
    const DataOp& op = inode.pending[i];
    if (op.is_truncate) {
      SYNOD_ASSERT(op.length <= inode.durable.size());
      inode.durable.resize(static_cast<std::size_t>(op.length));
    } else {
      inode.durable.append(op.bytes);
    }
  }
  inode.pending.erase(inode.pending.begin(),
                      inode.pending.begin() + static_cast<std::ptrdiff_t>(count));
  inode.ops_settled += count;
  return Status{};
}

Status MemoryDisk::rename(std::string_view from, std::string_view to) {
  SYNOD_ASSERT_MSG(dir_of(from) == dir_of(to), "rename() stays within one directory");
  SYNOD_ASSERT(from != to);
  const auto inode = lookup(from);
  if (!inode) return missing(from);
  std::string_view from_file;
  std::string_view to_file;
  Directory& directory = directory_of(from, &from_file);
  static_cast<void>(directory_of(to, &to_file));
  DirOp op;
  op.changes.emplace_back(std::string(from_file), std::nullopt);
  op.changes.emplace_back(std::string(to_file), *inode);
  apply(directory.current, op);
  directory.pending.push_back(std::move(op));
  return Status{};
}

Status MemoryDisk::remove(std::string_view name) {
  const auto inode = lookup(name);
  if (!inode) return missing(name);
  std::string_view file;
  Directory& directory = directory_of(name, &file);
  DirOp op;
  op.changes.emplace_back(std::string(file), std::nullopt);
  apply(directory.current, op);
  directory.pending.push_back(std::move(op));
  return Status{};
}

namespace {

// Runs a Disk call later, as PosixDisk's jobs do on the fsync thread. Here
// the job must run on the MemoryDisk's own thread (it is not thread-safe).
class DeferredJob final : public SyncJob {
 public:
  explicit DeferredJob(std::function<Status()> call) : call_(std::move(call)) {}
  Status run() override { return call_(); }

 private:
  std::function<Status()> call_;
};

}  // namespace

Result<std::unique_ptr<SyncJob>> MemoryDisk::begin_sync_dir(std::string_view dir) {
  SYNOD_ASSERT(is_valid_dir(dir));
  return std::unique_ptr<SyncJob>(
      std::make_unique<DeferredJob>([this, dir = std::string(dir)] { return sync_dir(dir); }));
}

Result<std::unique_ptr<SyncJob>> MemoryDisk::begin_replace(std::string_view name,
                                                           std::string bytes) {
  SYNOD_ASSERT_MSG(is_valid_name(name), "a Disk name is \"file\" or \"dir/file\"");
  return std::unique_ptr<SyncJob>(
      std::make_unique<DeferredJob>([this, name = std::string(name), bytes = std::move(bytes)] {
        ++replaces_run_;
        return replace_now(*this, name, bytes);
      }));
}

Status MemoryDisk::sync_dir(std::string_view dir) {
  SYNOD_ASSERT(is_valid_dir(dir));
  auto found = directories_.find(dir);
  if (found != directories_.end()) {
    found->second.durable = found->second.current;
    found->second.pending.clear();
  }
  ++sync_dir_count_;
  return Status{};
}

void MemoryDisk::crash_inode(Inode& inode, base::Prng& prng) {
  const auto kept = static_cast<std::size_t>(prng.below(inode.pending.size() + 1));
  std::string bytes = inode.durable;
  for (std::size_t i = 0; i < kept; ++i) {
    const DataOp& op = inode.pending[i];
    if (op.is_truncate) {
      SYNOD_ASSERT(op.length <= bytes.size());
      bytes.resize(static_cast<std::size_t>(op.length));
    } else if (i + 1 == kept && prng.chance(1, 2)) {
      append_torn(bytes, op.bytes, prng);
    } else {
      bytes.append(op.bytes);
    }
  }
  inode.durable = bytes;
  inode.current = std::move(bytes);
  inode.ops_settled += inode.pending.size();
  inode.pending.clear();
}

void MemoryDisk::crash_directory(Directory& directory, base::Prng& prng) {
  const auto kept = static_cast<std::size_t>(prng.below(directory.pending.size() + 1));
  for (std::size_t i = 0; i < kept; ++i) apply(directory.durable, directory.pending[i]);
  directory.current = directory.durable;
  directory.pending.clear();
}

void MemoryDisk::crash(base::Prng& prng) {
  for (auto& [dir, directory] : directories_) crash_directory(directory, prng);
  for (auto& [id, inode] : inodes_) crash_inode(inode, prng);
  forget_unreachable_inodes();
  sync_failures_pending_ = 0;
  append_failures_pending_ = 0;
}

void MemoryDisk::forget_unreachable_inodes() {
  std::set<InodeId> reachable;
  for (const auto& [dir, directory] : directories_) {
    for (const auto& [file, id] : directory.current) reachable.insert(id);
    for (const auto& [file, id] : directory.durable) reachable.insert(id);
    for (const DirOp& op : directory.pending) {
      for (const auto& change : op.changes) {
        if (change.second) reachable.insert(*change.second);
      }
    }
  }
  std::erase_if(inodes_, [&](const auto& entry) { return !reachable.contains(entry.first); });
}

void MemoryDisk::corrupt(std::string_view name, std::uint64_t offset) {
  const auto inode = lookup(name);
  SYNOD_ASSERT_MSG(inode.has_value(), "corrupt() needs an existing file");
  Inode& target = inodes_.at(*inode);
  SYNOD_ASSERT(offset < target.current.size());
  const auto at = static_cast<std::size_t>(offset);
  target.current[at] = static_cast<char>(~static_cast<unsigned char>(target.current[at]));
  if (at < target.durable.size()) {
    target.durable[at] = static_cast<char>(~static_cast<unsigned char>(target.durable[at]));
  }
}

bool MemoryDisk::exists(std::string_view name) const { return lookup(name).has_value(); }

const std::string& MemoryDisk::contents(std::string_view name) const {
  const auto inode = lookup(name);
  SYNOD_ASSERT_MSG(inode.has_value(), "contents() needs an existing file");
  return inodes_.at(*inode).current;
}

}  // namespace synod::wal
