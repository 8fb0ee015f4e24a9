#include "server/runtime/posix_disk.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <limits>
#include <system_error>
#include <utility>

namespace synod::runtime {

using wal::Code;
using wal::Result;
using wal::Status;

namespace {

// Files PosixDisk creates; directories it makes.
constexpr mode_t file_mode = 0644;
constexpr mode_t dir_mode = 0755;

std::string os_reason(int err) { return std::system_category().message(err); }

// "<operation> <path>: <reason>".
Status io_error(std::string_view operation, std::string_view path, int err) {
  return error_status(Code::io_error,
                      std::string(operation) + " " + std::string(path) + ": " + os_reason(err));
}

// As io_error, but a missing file or a missing parent directory is
// not_found (disk.h: "a missing file is Code::not_found").
Status lookup_error(std::string_view operation, std::string_view path, int err) {
  if (err == ENOENT || err == ENOTDIR) {
    return error_status(Code::not_found,
                        std::string(operation) + " " + std::string(path) + ": " + os_reason(err));
  }
  return io_error(operation, path, err);
}

// Calls `call` (a system call returning -1 on error) again while it is
// interrupted by a signal; returns its last result, errno as it left it.
template <class Call>
int retrying(Call call) {
  int rc = -1;
  do {
    rc = call();
  } while (rc < 0 && errno == EINTR);
  return rc;
}

int open_retrying(const std::string& path, int flags, mode_t mode = 0) {
  return retrying([&] { return ::open(path.c_str(), flags, mode); });
}

void close_quietly(int fd) {
  // Linux releases the descriptor even when close reports an error, so a
  // retry could close someone else's. Durability never rests on close: it
  // rests on the fdatasync/fsync calls that report their own errors.
  static_cast<void>(::close(fd));
}

// Writes all of `bytes` at the file's end (fd is O_APPEND), looping over
// short writes and EINTR.
Status write_all(int fd, std::string_view bytes, const std::string& path) {
  while (!bytes.empty()) {
    const ssize_t written = ::write(fd, bytes.data(), bytes.size());
    if (written < 0) {
      if (errno == EINTR) continue;
      return io_error("write", path, errno);
    }
    if (written == 0) return io_error("write", path, EIO);  // no progress: never loop forever
    bytes.remove_prefix(static_cast<std::size_t>(written));
  }
  return Status{};
}

// Reads up to out.size() bytes from `offset`; shrinks `out` if the file ends
// first.
Status pread_all(int fd, std::uint64_t offset, std::string& out, const std::string& path) {
  std::size_t got = 0;
  while (got < out.size()) {
    const ssize_t n =
        ::pread(fd, out.data() + got, out.size() - got, static_cast<off_t>(offset + got));
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error("pread", path, errno);
    }
    if (n == 0) break;  // the file ended early
    got += static_cast<std::size_t>(n);
  }
  out.resize(got);
  return Status{};
}

// The size of the regular file behind fd.
Result<std::uint64_t> regular_size(int fd, const std::string& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return io_error("fstat", path, errno);
  if (!S_ISREG(st.st_mode)) return io_error("fstat", path, S_ISDIR(st.st_mode) ? EISDIR : EINVAL);
  return static_cast<std::uint64_t>(st.st_size);
}

// fsync of the directory at `path` (file systems need this to make entries
// durable). A missing directory is an error, unless `missing` is given: then
// it is set and nothing is done.
Status fsync_dir(const std::string& path, bool* missing = nullptr) {
  const int fd = open_retrying(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    if (missing != nullptr && errno == ENOENT) {
      *missing = true;
      return Status{};
    }
    return io_error("open", path, errno);
  }
  const int rc = retrying([fd] { return ::fsync(fd); });
  const int err = errno;
  close_quietly(fd);
  if (rc != 0) return io_error("fsync", path, err);
  return Status{};
}

std::string parent_of(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// mkdir -p. Each directory made here is made durable at once by an fsync of
// its parent, so no later crash can lose it.
Status make_dirs(const std::string& path) {
  for (std::size_t end = 1; end <= path.size(); ++end) {
    if (end != path.size() && path[end] != '/') continue;
    const std::string prefix = path.substr(0, end);
    if (prefix.back() == '/') continue;  // "a//b"
    if (::mkdir(prefix.c_str(), dir_mode) == 0) {
      if (auto synced = fsync_dir(parent_of(prefix)); !synced.ok()) return synced;
      continue;
    }
    if (errno != EEXIST) return io_error("mkdir", prefix, errno);
    struct stat st {};
    if (::stat(prefix.c_str(), &st) != 0) return io_error("stat", prefix, errno);
    if (!S_ISDIR(st.st_mode)) return io_error("mkdir", prefix, ENOTDIR);
  }
  return Status{};
}

std::string join(const std::string& dir, std::string_view name) {
  std::string path = dir;
  if (path.empty() || path.back() != '/') path.push_back('/');
  path.append(name);
  return path;
}

// True when the entry is a regular file (following a symlink, as open does).
bool is_regular(DIR* dir, const dirent* entry) {
  if (entry->d_type == DT_REG) return true;
  if (entry->d_type != DT_UNKNOWN && entry->d_type != DT_LNK) return false;
  struct stat st {};
  if (::fstatat(::dirfd(dir), entry->d_name, &st, 0) != 0) return false;
  return S_ISREG(st.st_mode);
}

}  // namespace

// ---- PosixDisk --------------------------------------------------------------

PosixDisk::PosixDisk(std::string data_dir, std::size_t open_files_max)
    : data_dir_(std::move(data_dir)), open_files_max_(open_files_max) {
  SYNOD_ASSERT_MSG(!data_dir_.empty(), "PosixDisk needs a data dir path");
  SYNOD_ASSERT(open_files_max_ >= 1);
  while (data_dir_.size() > 1 && data_dir_.back() == '/') data_dir_.pop_back();
  open_files_.reserve(open_files_max_);
}

PosixDisk::~PosixDisk() {
  for (const OpenFile& file : open_files_) close_quietly(file.fd);
}

std::string PosixDisk::path_of(std::string_view name) const {
  return name.empty() ? data_dir_ : join(data_dir_, name);
}

int PosixDisk::cached_fd(std::string_view name) {
  for (OpenFile& file : open_files_) {
    if (file.name == name) {
      file.last_use = ++use_clock_;
      return file.fd;
    }
  }
  return -1;
}

void PosixDisk::cache(std::string_view name, int fd) {
  SYNOD_ASSERT(cached_fd(name) < 0);
  if (open_files_.size() >= open_files_max_) {
    const auto oldest = std::min_element(
        open_files_.begin(), open_files_.end(),
        [](const OpenFile& a, const OpenFile& b) { return a.last_use < b.last_use; });
    close_quietly(oldest->fd);
    open_files_.erase(oldest);
  }
  open_files_.push_back(OpenFile{.name = std::string(name), .fd = fd, .last_use = ++use_clock_});
  SYNOD_ASSERT(open_files_.size() <= open_files_max_);
}

void PosixDisk::forget(std::string_view name) {
  const auto found = std::find_if(open_files_.begin(), open_files_.end(),
                                  [&](const OpenFile& file) { return file.name == name; });
  if (found == open_files_.end()) return;
  close_quietly(found->fd);
  open_files_.erase(found);
}

Result<int> PosixDisk::writable_fd(std::string_view name) {
  SYNOD_ASSERT_MSG(wal::is_valid_name(name), "a Disk name is \"file\" or \"dir/file\"");
  if (const int fd = cached_fd(name); fd >= 0) return fd;
  const std::string path = path_of(name);
  const int fd = open_retrying(path, O_RDWR | O_APPEND | O_CLOEXEC);
  if (fd < 0) return lookup_error("open", path, errno);
  cache(name, fd);
  return fd;
}

template <class Use>
auto PosixDisk::with_read_fd(std::string_view name, Use use) -> decltype(use(0)) {
  SYNOD_ASSERT_MSG(wal::is_valid_name(name), "a Disk name is \"file\" or \"dir/file\"");
  if (const int fd = cached_fd(name); fd >= 0) return use(fd);
  const std::string path = path_of(name);
  const int fd = open_retrying(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return lookup_error("open", path, errno);
  auto result = use(fd);
  close_quietly(fd);
  return result;
}

Result<std::vector<std::string>> PosixDisk::list(std::string_view dir) {
  SYNOD_ASSERT(wal::is_valid_dir(dir));
  const std::string path = path_of(dir);
  DIR* handle = ::opendir(path.c_str());
  if (handle == nullptr) {
    if (errno == ENOENT) return std::vector<std::string>{};  // a missing dir lists empty
    return io_error("opendir", path, errno);
  }
  std::vector<std::string> files;
  for (;;) {
    errno = 0;
    const dirent* entry = ::readdir(handle);
    if (entry == nullptr) break;
    const std::string_view file = entry->d_name;
    if (wal::is_valid_component(file) && is_regular(handle, entry)) files.emplace_back(file);
  }
  const int err = errno;
  static_cast<void>(::closedir(handle));
  if (err != 0) return io_error("readdir", path, err);
  std::sort(files.begin(), files.end());
  return files;
}

Result<std::uint64_t> PosixDisk::size(std::string_view name) {
  const std::string path = path_of(name);
  return with_read_fd(name, [&](int fd) { return regular_size(fd, path); });
}

Result<std::string> PosixDisk::read(std::string_view name, std::uint64_t offset,
                                    std::uint64_t length) {
  const std::string path = path_of(name);
  return with_read_fd(name, [&](int fd) -> Result<std::string> {
    auto file_bytes = regular_size(fd, path);
    if (!file_bytes.ok()) return file_bytes.status();
    if (offset >= file_bytes.value()) return std::string{};
    // Never allocate more than the file holds, whatever `length` says.
    const std::uint64_t wanted = std::min(length, file_bytes.value() - offset);
    SYNOD_ASSERT(wanted <= std::numeric_limits<std::size_t>::max());
    std::string bytes(static_cast<std::size_t>(wanted), '\0');
    if (auto status = pread_all(fd, offset, bytes, path); !status.ok()) return status;
    return bytes;
  });
}

Status PosixDisk::create(std::string_view name) {
  SYNOD_ASSERT_MSG(wal::is_valid_name(name), "a Disk name is \"file\" or \"dir/file\"");
  forget(name);
  const std::string path = path_of(name);
  constexpr int flags = O_RDWR | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC;
  int fd = open_retrying(path, flags, file_mode);
  if (fd < 0 && errno == ENOENT) {
    // The first file of data_dir or of its dir: mkdir -p, then again.
    if (auto made = make_dirs(path_of(wal::dir_of(name))); !made.ok()) return made;
    fd = open_retrying(path, flags, file_mode);
  }
  if (fd < 0) return io_error("create", path, errno);
  cache(name, fd);
  return Status{};
}

Status PosixDisk::append(std::string_view name, std::string_view bytes) {
  auto fd = writable_fd(name);
  if (!fd.ok()) return fd.status();
  return write_all(fd.value(), bytes, path_of(name));
}

Status PosixDisk::truncate(std::string_view name, std::uint64_t length) {
  auto fd = writable_fd(name);
  if (!fd.ok()) return fd.status();
  const std::string path = path_of(name);
  auto current = regular_size(fd.value(), path);
  if (!current.ok()) return current.status();
  SYNOD_ASSERT_MSG(length <= current.value(), "truncate() only shrinks");
  const int rc = retrying([&] { return ::ftruncate(fd.value(), static_cast<off_t>(length)); });
  if (rc != 0) return io_error("ftruncate", path, errno);
  return Status{};
}

namespace {

Status datasync(int fd, const std::string& path) {
  if (retrying([fd] { return ::fdatasync(fd); }) != 0) return io_error("fdatasync", path, errno);
  return Status{};
}

// Owns a duplicate descriptor, so the cache may close the original.
class PosixSyncJob final : public wal::SyncJob {
 public:
  PosixSyncJob(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~PosixSyncJob() override { ::close(fd_); }
  PosixSyncJob(const PosixSyncJob&) = delete;
  PosixSyncJob& operator=(const PosixSyncJob&) = delete;
  Status run() override { return datasync(fd_, path_); }

 private:
  int fd_;
  std::string path_;
};

}  // namespace

Status PosixDisk::sync(std::string_view name) {
  auto fd = writable_fd(name);
  if (!fd.ok()) return fd.status();
  return datasync(fd.value(), path_of(name));
}

wal::Result<std::unique_ptr<wal::SyncJob>> PosixDisk::begin_sync(std::string_view name) {
  auto fd = writable_fd(name);
  if (!fd.ok()) return fd.status();
  const std::string path = path_of(name);
  const int copy = ::fcntl(fd.value(), F_DUPFD_CLOEXEC, 0);
  if (copy < 0) return io_error("dup", path, errno);
  return std::unique_ptr<wal::SyncJob>(std::make_unique<PosixSyncJob>(copy, path));
}

namespace {

// fsync of a directory, on the fsync thread; `also` (data_dir, or empty)
// as well, so the directory's own entry is durable too.
class PosixDirSyncJob final : public wal::SyncJob {
 public:
  PosixDirSyncJob(std::string path, std::string also)
      : path_(std::move(path)), also_(std::move(also)) {}
  Status run() override {
    bool missing = false;
    if (auto synced = fsync_dir(path_, &missing); !synced.ok() || missing) return synced;
    return also_.empty() ? Status{} : fsync_dir(also_);
  }

 private:
  std::string path_;
  std::string also_;
};

// An atomic replace on the fsync thread, with descriptors of its own (the
// owner's cache is never touched): write the temp, fdatasync, rename, fsync
// the directory and data_dir.
class PosixReplaceJob final : public wal::SyncJob {
 public:
  PosixReplaceJob(std::string path, std::string dir, std::string data_dir, std::string bytes)
      : path_(std::move(path)),
        dir_(std::move(dir)),
        data_dir_(std::move(data_dir)),
        bytes_(std::move(bytes)) {}
  Status run() override {
    if (auto made = make_dirs(dir_); !made.ok()) return made;
    const std::string temp = path_ + std::string(wal::replace_temp_suffix);
    const int fd =
        open_retrying(temp, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, file_mode);
    if (fd < 0) return io_error("create", temp, errno);
    Status written = write_all(fd, bytes_, temp);
    if (written.ok()) written = datasync(fd, temp);
    close_quietly(fd);
    if (!written.ok()) return written;
    if (::rename(temp.c_str(), path_.c_str()) != 0) {
      return io_error("rename", temp + " to " + path_, errno);
    }
    if (auto synced = fsync_dir(dir_); !synced.ok()) return synced;
    return dir_ == data_dir_ ? Status{} : fsync_dir(data_dir_);
  }

 private:
  std::string path_;
  std::string dir_;
  std::string data_dir_;
  std::string bytes_;
};

}  // namespace

wal::Result<std::unique_ptr<wal::SyncJob>> PosixDisk::begin_sync_dir(std::string_view dir) {
  SYNOD_ASSERT(wal::is_valid_dir(dir));
  return std::unique_ptr<wal::SyncJob>(
      std::make_unique<PosixDirSyncJob>(path_of(dir), dir.empty() ? std::string() : data_dir_));
}

wal::Result<std::unique_ptr<wal::SyncJob>> PosixDisk::begin_replace(std::string_view name,
                                                                    std::string bytes) {
  SYNOD_ASSERT_MSG(wal::is_valid_name(name), "a Disk name is \"file\" or \"dir/file\"");
  forget(name);
  forget(std::string(name) + std::string(wal::replace_temp_suffix));
  return std::unique_ptr<wal::SyncJob>(std::make_unique<PosixReplaceJob>(
      path_of(name), path_of(wal::dir_of(name)), data_dir_, std::move(bytes)));
}

Status PosixDisk::rename(std::string_view from, std::string_view to) {
  SYNOD_ASSERT_MSG(wal::is_valid_name(from) && wal::is_valid_name(to),
                   "a Disk name is \"file\" or \"dir/file\"");
  SYNOD_ASSERT_MSG(wal::dir_of(from) == wal::dir_of(to), "rename() stays within one directory");
  SYNOD_ASSERT(from != to);
  forget(from);
  forget(to);
  const std::string from_path = path_of(from);
  const std::string to_path = path_of(to);
  if (::rename(from_path.c_str(), to_path.c_str()) != 0) {
    return lookup_error("rename", from_path + " to " + to_path, errno);
  }
  return Status{};
}

Status PosixDisk::remove(std::string_view name) {
  SYNOD_ASSERT_MSG(wal::is_valid_name(name), "a Disk name is \"file\" or \"dir/file\"");
  forget(name);
  const std::string path = path_of(name);
  if (::unlink(path.c_str()) != 0) return lookup_error("unlink", path, errno);
  return Status{};
}

Status PosixDisk::sync_dir(std::string_view dir) {
  SYNOD_ASSERT(wal::is_valid_dir(dir));
  bool missing = false;
  if (auto synced = fsync_dir(path_of(dir), &missing); !synced.ok()) return synced;
  if (missing) return Status{};  // as MemoryDisk: nothing there to make durable
  // dir's own entry in data_dir: make_dirs made it durable if this process
  // created dir, but a previous process may have died between its mkdir and
  // that fsync. Once per PosixDisk settles it.
  if (!dir.empty() && std::find(dirs_entry_durable_.begin(), dirs_entry_durable_.end(), dir) ==
                          dirs_entry_durable_.end()) {
    if (auto synced = fsync_dir(data_dir_); !synced.ok()) return synced;
    dirs_entry_durable_.emplace_back(dir);
  }
  return Status{};
}

// ---- DataDirLock ------------------------------------------------------------

namespace {

// The pid the holder wrote, or "unknown".
std::string holder_pid(int fd) {
  std::string text(32, '\0');
  if (!pread_all(fd, 0, text, "").ok()) return "unknown";
  std::string pid;
  for (char c : text) {
    if (c < '0' || c > '9') break;
    pid.push_back(c);
  }
  return pid.empty() ? "unknown" : pid;
}

}  // namespace

Result<DataDirLock> DataDirLock::acquire(const std::string& data_dir) {
  SYNOD_ASSERT_MSG(!data_dir.empty(), "DataDirLock needs a data dir path");
  if (auto made = make_dirs(data_dir); !made.ok()) return made;
  std::string path = join(data_dir, data_dir_lock_file);
  const int fd = open_retrying(path, O_RDWR | O_CREAT | O_CLOEXEC, file_mode);
  if (fd < 0) return io_error("open", path, errno);
  int rc = retrying([fd] { return ::flock(fd, LOCK_EX | LOCK_NB); });
  if (rc != 0) {
    const int err = errno;
    if (err == EWOULDBLOCK) {
      const std::string pid = holder_pid(fd);
      close_quietly(fd);
      return error_status(Code::io_error, "data dir " + data_dir +
                                              " is in use by another synodd (pid " + pid + ")");
    }
    close_quietly(fd);
    return io_error("flock", path, err);
  }
  // Ours now: record who holds it, for the refusal above.
  const std::string pid = std::to_string(::getpid()) + "\n";
  rc = retrying([fd] { return ::ftruncate(fd, 0); });
  Status written = rc == 0 ? Status{} : io_error("ftruncate", path, errno);
  if (written.ok()) written = write_all(fd, pid, path);  // at offset 0: the file is empty
  if (!written.ok()) {
    close_quietly(fd);
    return written;
  }
  return DataDirLock(std::move(path), fd);
}

DataDirLock::DataDirLock(DataDirLock&& other) noexcept
    : path_(std::move(other.path_)), fd_(std::exchange(other.fd_, -1)) {}

DataDirLock& DataDirLock::operator=(DataDirLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close_quietly(fd_);
    path_ = std::move(other.path_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

DataDirLock::~DataDirLock() {
  if (fd_ >= 0) close_quietly(fd_);  // closing the last descriptor drops the flock
}

// ---- check_data_dir ---------------------------------------------------------

Status check_data_dir(const std::string& data_dir) {
  if (data_dir.empty()) return error_status(Code::io_error, "the data dir path is empty");
  struct stat st {};
  if (::stat(data_dir.c_str(), &st) != 0) {
    if (errno != ENOENT && errno != ENOTDIR) return io_error("stat", data_dir, errno);
    if (auto made = make_dirs(data_dir); !made.ok()) {
      return error_status(Code::io_error,
                          "data dir " + data_dir + " cannot be created: " + made.message);
    }
    if (::stat(data_dir.c_str(), &st) != 0) return io_error("stat", data_dir, errno);
  }
  if (!S_ISDIR(st.st_mode)) {
    return error_status(Code::io_error, "data dir " + data_dir + " is not a directory");
  }
  if (::faccessat(AT_FDCWD, data_dir.c_str(), W_OK | X_OK, AT_EACCESS) != 0) {
    return error_status(Code::io_error,
                        "data dir " + data_dir + " is not writable: " + os_reason(errno));
  }
  return Status{};
}

}  // namespace synod::runtime
