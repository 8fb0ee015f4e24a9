// PowerCutDisk: forwards to a MemoryDisk until a budget of operations runs
// out, then fails every call, as if the machine lost power in the middle of
// whatever the caller was doing. The test then crashes the MemoryDisk and
// recovers, which reaches the crash windows *inside* a Wal call (between the
// create and the sync_dir of a rotation, between two removes, ...).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "server/wal/memory_disk.h"

namespace synod::wal::testing {

class PowerCutDisk final : public Disk {
 public:
  PowerCutDisk(MemoryDisk& disk, std::uint64_t operations_left)
      : disk_(disk), operations_left_(operations_left) {}

  [[nodiscard]] bool power_lost() const { return operations_left_ == 0; }

  Result<std::vector<std::string>> list(std::string_view dir) override {
    if (!spend()) return lost();
    return disk_.list(dir);
  }
  Result<std::uint64_t> size(std::string_view name) override {
    if (!spend()) return lost();
    return disk_.size(name);
  }
  Result<std::string> read(std::string_view name, std::uint64_t offset,
                           std::uint64_t length) override {
    if (!spend()) return lost();
    return disk_.read(name, offset, length);
  }
  Status create(std::string_view name) override { return spend() ? disk_.create(name) : lost(); }
  Status append(std::string_view name, std::string_view bytes) override {
    return spend() ? disk_.append(name, bytes) : lost();
  }
  Status truncate(std::string_view name, std::uint64_t length) override {
    return spend() ? disk_.truncate(name, length) : lost();
  }
  Status sync(std::string_view name) override { return spend() ? disk_.sync(name) : lost(); }
  // The job's run() is the operation that spends (it is the fdatasync).
  Result<std::unique_ptr<SyncJob>> begin_sync(std::string_view name) override {
    auto inner = disk_.begin_sync(name);
    if (!inner.ok()) return inner.status();
    return std::unique_ptr<SyncJob>(std::make_unique<Job>(*this, std::move(inner.value())));
  }
  Status rename(std::string_view from, std::string_view to) override {
    return spend() ? disk_.rename(from, to) : lost();
  }
  Status remove(std::string_view name) override { return spend() ? disk_.remove(name) : lost(); }
  Status sync_dir(std::string_view dir) override { return spend() ? disk_.sync_dir(dir) : lost(); }
  Result<std::unique_ptr<SyncJob>> begin_sync_dir(std::string_view dir) override {
    auto inner = disk_.begin_sync_dir(dir);
    if (!inner.ok()) return inner.status();
    return std::unique_ptr<SyncJob>(std::make_unique<Job>(*this, std::move(inner.value())));
  }
  // Each step of the replace spends, through this disk.
  Result<std::unique_ptr<SyncJob>> begin_replace(std::string_view name,
                                                 std::string bytes) override {
    return std::unique_ptr<SyncJob>(std::make_unique<ReplaceJob>(*this, name, std::move(bytes)));
  }

 private:
  class Job final : public SyncJob {
   public:
    Job(PowerCutDisk& disk, std::unique_ptr<SyncJob> inner) : disk_(disk), inner_(std::move(inner)) {}
    Status run() override { return disk_.spend() ? inner_->run() : lost(); }

   private:
    PowerCutDisk& disk_;
    std::unique_ptr<SyncJob> inner_;
  };

  class ReplaceJob final : public SyncJob {
   public:
    ReplaceJob(PowerCutDisk& disk, std::string_view name, std::string bytes)
        : disk_(disk), name_(name), bytes_(std::move(bytes)) {}
    Status run() override { return replace_now(disk_, name_, bytes_); }

   private:
    PowerCutDisk& disk_;
    std::string name_;
    std::string bytes_;
  };

  bool spend() {
    if (operations_left_ == 0) return false;
    --operations_left_;
    return true;
  }
  static Status lost() { return error_status(Code::io_error, "power lost (PowerCutDisk)"); }

  MemoryDisk& disk_;
  std::uint64_t operations_left_;
};

}  // namespace synod::wal::testing
