#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "base/little_endian.h"
#include "base/prng.h"
#include "server/replica/storage.h"
#include "server/wal/memory_disk.h"
#include "server/wal/meta.h"
#include "server/wal/wal.h"

using namespace synod;
using consensus::AcceptedRecord;
using consensus::Configuration;
using consensus::Entry;
using consensus::PersistBatch;
using consensus::Snapshot;
using replica::Storage;

namespace {

Snapshot initial() {
  return Snapshot{Slot{0}, Configuration{{NodeId{1}, NodeId{2}, NodeId{3}}, {}},
                  std::make_shared<const std::string>("empty")};
}

Storage::Opened open(wal::MemoryDisk& disk) {
  auto opened = Storage::open(disk, wal::WalOptions{}, initial());
  REQUIRE_MESSAGE(opened.ok(), opened.status().message);
  return std::move(opened.value());
}

AcceptedRecord record(std::uint64_t slot, std::uint64_t round, std::string data) {
  return AcceptedRecord{Slot{slot}, Ballot{round, NodeId{1}}, Entry::command(std::move(data))};
}

}  // namespace

TEST_CASE("storage: promise, accepted values, configurations and chosen marks round-trip") {
  wal::MemoryDisk disk;
  {
    auto opened = open(disk);
    CHECK(opened.durable.log.empty());
    PersistBatch batch;
    batch.promised = Ballot{4, NodeId{2}};
    batch.accepted = {record(1, 4, "a"), record(2, 4, "b"),
                      {Slot{3}, Ballot{4, NodeId{2}},
                       Entry::reconfig(Configuration{{NodeId{1}, NodeId{2}}, {NodeId{5}}})}};
    batch.chosen = Slot{2};
    CHECK(opened.storage.write(batch).ok());
    CHECK(opened.storage.has_unsynced());
    CHECK(opened.storage.sync().ok());
    CHECK_FALSE(opened.storage.has_unsynced());
  }
  auto again = open(disk);
  CHECK(again.durable.promised == Ballot{4, NodeId{2}});
  REQUIRE(again.durable.log.size() == 3);
  CHECK(again.durable.log[1].entry.data == "b");
  CHECK(again.durable.log[2].entry.config.learners == std::vector<NodeId>{NodeId{5}});
  CHECK(again.durable.chosen == Slot{2});
}

TEST_CASE("storage: a later record for a slot overwrites an earlier one") {
  wal::MemoryDisk disk;
  {
    auto opened = open(disk);
    PersistBatch first;
    first.accepted = {record(1, 1, "old"), record(2, 1, "old2")};
    PersistBatch second;
    second.promised = Ballot{2, NodeId{1}};
    second.accepted = {record(1, 2, "new")};
    CHECK(opened.storage.write(first).ok());
    CHECK(opened.storage.write(second).ok());
    CHECK(opened.storage.sync().ok());
  }
  auto again = open(disk);
  REQUIRE(again.durable.log.size() == 2);
  CHECK(again.durable.log[0].entry.data == "new");
  CHECK(again.durable.log[0].ballot.round == 2);
  CHECK(again.durable.log[1].entry.data == "old2");
}

TEST_CASE("storage: a crash never loses a synced record and never invents one") {
  for (std::uint64_t seed = 1; seed <= 200; ++seed) {
    CAPTURE(seed);
    base::Prng prng(seed);
    wal::MemoryDisk disk;
    std::uint64_t synced = 0, written = 0;
    {
      auto opened = open(disk);
      const auto batches = prng.range(1, 12);
      for (std::uint64_t b = 0; b < batches; ++b) {
        PersistBatch batch;
        batch.accepted = {record(written + 1, 1, "v" + std::to_string(written + 1))};
        ++written;
        CHECK(opened.storage.write(batch).ok());
        if (prng.chance(1, 3)) {
          CHECK(opened.storage.sync().ok());
          synced = written;
        }
      }
    }
    disk.crash(prng);
    auto again = open(disk);
    CHECK(again.durable.log.size() >= synced);
    CHECK(again.durable.log.size() <= written);
    for (std::size_t i = 0; i < again.durable.log.size(); ++i) {
      CHECK(again.durable.log[i].entry.data == "v" + std::to_string(i + 1));
    }
  }
}

TEST_CASE("storage: a snapshot drops the log it covers and keeps the tail after it") {
  wal::MemoryDisk disk;
  {
    auto opened = open(disk);
    PersistBatch batch;
    for (std::uint64_t s = 1; s <= 10; ++s) batch.accepted.push_back(record(s, 1, "e" + std::to_string(s)));
    batch.chosen = Slot{8};
    CHECK(opened.storage.write(batch).ok());
    CHECK(opened.storage.sync().ok());
    const Snapshot snap{Slot{8}, initial().config, std::make_shared<const std::string>("state@8")};
    const std::vector<AcceptedRecord> tail = {record(9, 1, "e9"), record(10, 1, "e10")};
    CHECK(opened.storage.save_snapshot(snap, tail, Slot{8}).ok());
    const Snapshot later{Slot{9}, initial().config, std::make_shared<const std::string>("state@9")};
    const std::vector<AcceptedRecord> tail2 = {record(10, 1, "e10")};
    CHECK(opened.storage.save_snapshot(later, tail2, Slot{9}).ok());
  }
  auto again = open(disk);
  CHECK(again.durable.snapshot.slot == Slot{9});
  CHECK(*again.durable.snapshot.data == "state@9");
  CHECK(again.durable.snapshot.config == initial().config);
  REQUIRE(again.durable.log.size() == 1);
  CHECK(again.durable.log[0].slot == Slot{10});
  CHECK(again.durable.chosen == Slot{9});
}

TEST_CASE("storage: a snapshot installed from the leader replaces the log below it") {
  wal::MemoryDisk disk;
  {
    auto opened = open(disk);
    PersistBatch batch;
    batch.accepted = {record(1, 1, "a"), record(2, 1, "b")};
    CHECK(opened.storage.write(batch).ok());
    PersistBatch install;
    install.snapshot = Snapshot{Slot{50}, initial().config, std::make_shared<const std::string>("s50")};
    install.chosen = Slot{50};
    CHECK(opened.storage.write(install).ok());
    PersistBatch after;
    after.accepted = {record(51, 2, "c")};
    CHECK(opened.storage.write(after).ok());
    CHECK(opened.storage.sync().ok());
  }
  auto again = open(disk);
  CHECK(again.durable.snapshot.slot == Slot{50});
  REQUIRE(again.durable.log.size() == 1);
  CHECK(again.durable.log[0].entry.data == "c");
}

TEST_CASE("storage: a promise costs no fsync of its own and is durable with the next sync") {
  wal::MemoryDisk disk;
  {
    auto opened = open(disk);
    const std::uint64_t syncs = disk.sync_count();
    PersistBatch promise;
    promise.promised = Ballot{7, NodeId{3}};
    CHECK(opened.storage.write(promise).ok());
    CHECK(disk.sync_count() == syncs);  // the owner's thread never waits for a disk
    CHECK(opened.storage.has_unsynced());
    CHECK(opened.storage.sync().ok());
  }
  auto again = open(disk);
  CHECK(again.durable.promised == Ballot{7, NodeId{3}});
}

TEST_CASE("storage: the promise outlives the segments that held it") {
  wal::MemoryDisk disk;
  wal::WalOptions small;
  small.segment_bytes_max = wal::segment_bytes_max_min;  // one record per segment
  {
    auto opened = Storage::open(disk, small, initial());
    REQUIRE(opened.ok());
    Storage& storage = opened.value().storage;
    PersistBatch batch;
    batch.promised = Ballot{5, NodeId{2}};
    for (std::uint64_t s = 1; s <= 6; ++s) batch.accepted.push_back(record(s, 5, "e"));
    CHECK(storage.write(batch).ok());
    CHECK(storage.sync().ok());
    for (std::uint64_t s = 2; s <= 6; s += 2) {  // each drops what the one before needed
      const Snapshot snap{Slot{s}, initial().config, std::make_shared<const std::string>("x")};
      CHECK(storage.save_snapshot(snap, {}, Slot{s}).ok());
    }
  }
  auto again = Storage::open(disk, small, initial());
  REQUIRE(again.ok());
  CHECK(again.value().durable.snapshot.slot == Slot{6});
  CAPTURE(again.value().durable.promised.round);
  CHECK(again.value().durable.promised == Ballot{5, NodeId{2}});
}

TEST_CASE("storage: a meta file from an older version is still read; a higher promise wins") {
  wal::MemoryDisk disk;
  std::string old_meta;
  base::put_u64(old_meta, 9);
  base::put_u32(old_meta, 1);
  REQUIRE(wal::write_meta(disk, old_meta).ok());
  {
    auto opened = open(disk);
    CHECK(opened.durable.promised == Ballot{9, NodeId{1}});
    PersistBatch promise;
    promise.promised = Ballot{10, NodeId{2}};
    CHECK(opened.storage.write(promise).ok());
    CHECK(opened.storage.sync().ok());
  }
  CHECK(open(disk).durable.promised == Ballot{10, NodeId{2}});
}

TEST_CASE("storage: a hole in the recovered log is reported as corruption, never skipped") {
  wal::MemoryDisk disk;
  {
    auto opened = open(disk);
    PersistBatch batch;
    batch.accepted = {record(1, 1, "a"), record(3, 1, "c")};
    CHECK(opened.storage.write(batch).ok());
    CHECK(opened.storage.sync().ok());
  }
  auto again = Storage::open(disk, wal::WalOptions{}, initial());
  REQUIRE_FALSE(again.ok());
  CHECK(again.status().message.find("hole at slot 2") != std::string::npos);
}

TEST_CASE(
    "storage: a batch above the WAL's unsynced budget is written after a sync, never refused") {
  wal::MemoryDisk disk;
  wal::WalOptions options;
  options.unsynced_bytes_max = wal::unsynced_bytes_max_min;
  const std::string data(std::size_t{12} << 20, 'd');
  {
    auto opened = Storage::open(disk, options, initial());
    REQUIRE(opened.ok());
    Storage& storage = opened.value().storage;
    PersistBatch batch;
    batch.accepted = {record(1, 1, data), record(2, 1, data), record(3, 1, data)};
    const auto syncs = disk.sync_count();
    const wal::Status written = storage.write(batch);
    REQUIRE_MESSAGE(written.ok(), written.message);
    CHECK(disk.sync_count() > syncs);  // backpressure: it synced before the third
    PersistBatch more;
    more.accepted = {record(4, 1, data), record(5, 1, data)};
    REQUIRE(storage.write(more).ok());  // and again across batches
    REQUIRE(storage.sync().ok());
  }
  auto again = Storage::open(disk, options, initial());
  REQUIRE(again.ok());
  REQUIRE(again.value().durable.log.size() == 5);
  CHECK(again.value().durable.log[4].entry.data == data);
}
