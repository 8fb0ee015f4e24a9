#include <doctest/doctest.h>

#include <string>

#include "server/wal/memory_disk.h"
#include "server/wal/recovery.h"

using namespace synod;
using wal::Code;
using wal::MemoryDisk;
using wal::RecordIndex;

namespace {

wal::Recovery recover_ok(wal::Disk& disk, wal::WalOptions options = {}) {
  auto recovered = wal::recover(disk, options);
  REQUIRE_MESSAGE(recovered.ok(), recovered.status().message);
  return std::move(recovered).value();
}

void append_synced(wal::Wal& log, std::uint64_t count) {
  for (std::uint64_t i = 0; i < count; ++i) {
    REQUIRE(log.append("entry " + std::to_string(log.next_index().value())).ok());
  }
  REQUIRE(log.sync().ok());
}

}  // namespace

TEST_CASE("recovery: an empty data_dir recovers to nothing and a log ready at index 1") {
  MemoryDisk disk;
  auto recovered = recover_ok(disk);
  CHECK_FALSE(recovered.meta.has_value());
  CHECK_FALSE(recovered.snapshot.has_value());
  CHECK(recovered.records.empty());
  CHECK(recovered.notes.empty());
  CHECK(recovered.wal.next_index() == RecordIndex{1});
  CHECK(disk.exists("wal/00000000000000000001.log"));
}

TEST_CASE("recovery: meta, the newest snapshot and the records it does not cover come back") {
  MemoryDisk disk;
  wal::WalOptions options;
  options.segment_bytes_max = 200;
  {
    auto recovered = recover_ok(disk, options);
    append_synced(recovered.wal, 20);
    REQUIRE(wal::write_meta(disk, "ballot (4,2)").ok());
    REQUIRE(wal::write_snapshot(disk, Slot{15}, RecordIndex{16}, "store at 15").ok());
    REQUIRE(recovered.wal.truncate_prefix(RecordIndex{16}).ok());
    append_synced(recovered.wal, 3);
  }
  auto recovered = recover_ok(disk, options);
  CHECK(recovered.meta == std::optional<std::string>("ballot (4,2)"));
  REQUIRE(recovered.snapshot.has_value());
  CHECK(recovered.snapshot->slot == Slot{15});
  CHECK(recovered.snapshot->payload == "store at 15");
  REQUIRE(recovered.records.size() == 8);
  CHECK(recovered.records.front() == wal::Record{RecordIndex{16}, "entry 16"});
  CHECK(recovered.records.back() == wal::Record{RecordIndex{23}, "entry 23"});
  CHECK(recovered.notes.empty());
  CHECK(recovered.wal.next_index() == RecordIndex{24});
}

TEST_CASE("recovery: falling back to an older snapshot works while the log still holds its records") {
  MemoryDisk disk;
  {
    auto recovered = recover_ok(disk);
    append_synced(recovered.wal, 10);
    REQUIRE(wal::write_snapshot(disk, Slot{4}, RecordIndex{5}, "store at 4").ok());
    REQUIRE(wal::write_snapshot(disk, Slot{8}, RecordIndex{9}, "store at 8").ok());
  }
  disk.corrupt("snap/00000000000000000008.snap", 3);
  auto recovered = recover_ok(disk);
  REQUIRE(recovered.snapshot.has_value());
  CHECK(recovered.snapshot->slot == Slot{4});
  CHECK(recovered.records.size() == 6);
  CHECK(recovered.records.front().index == RecordIndex{5});
  REQUIRE(recovered.notes.size() == 1);
  CHECK(recovered.notes[0].starts_with("snap/00000000000000000008.snap: bad magic at offset 0"));
}

TEST_CASE("recovery: falling back to an older snapshot whose records were truncated is fatal") {
  MemoryDisk disk;
  wal::WalOptions options;
  options.segment_bytes_max = 100;
  {
    auto recovered = recover_ok(disk, options);
    append_synced(recovered.wal, 20);
    REQUIRE(wal::write_snapshot(disk, Slot{4}, RecordIndex{5}, "store at 4").ok());
    REQUIRE(wal::write_snapshot(disk, Slot{15}, RecordIndex{16}, "store at 15").ok());
    REQUIRE(recovered.wal.truncate_prefix(RecordIndex{16}).ok());
  }
  disk.corrupt("snap/00000000000000000015.snap", 40);
  auto recovered = wal::recover(disk, options);
  REQUIRE_FALSE(recovered.ok());
  CHECK(recovered.status().error == Code::corrupt);
  CHECK(recovered.status().message.find("but records from index 5 are needed") !=
        std::string::npos);
}

TEST_CASE("recovery: snapshots without any WAL segment are fatal, not a fresh log") {
  MemoryDisk disk;
  REQUIRE(wal::write_snapshot(disk, Slot{4}, RecordIndex{5}, "store at 4").ok());
  auto recovered = wal::recover(disk, {});
  REQUIRE_FALSE(recovered.ok());
  CHECK(recovered.status().message ==
        "wal/: no segment at offset 0, but snap/00000000000000000004.snap needs records from "
        "index 5 (was the wal directory lost?)");
}

TEST_CASE("recovery: leftovers of interrupted writes are removed and reported") {
  MemoryDisk disk;
  static_cast<void>(recover_ok(disk));
  REQUIRE(disk.create("meta.tmp").ok());
  REQUIRE(disk.create("snap/00000000000000000009.snap.tmp").ok());
  auto recovered = recover_ok(disk);
  CHECK(recovered.notes.size() == 2);
  CHECK_FALSE(disk.exists("meta.tmp"));
  CHECK_FALSE(disk.exists("snap/00000000000000000009.snap.tmp"));
  CHECK(recover_ok(disk).notes.empty());
}
