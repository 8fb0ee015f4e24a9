#include <doctest/doctest.h>

#include <map>
#include <string>
#include <vector>

#include "base/prng.h"
#include "base/little_endian.h"
#include "server/wal/memory_disk.h"
#include "server/wal/wal.h"
#include "tests/unit/wal/power_cut_disk.h"

using namespace synod;
using wal::Code;
using wal::MemoryDisk;
using wal::RecordIndex;
using wal::Wal;

namespace {

const std::string first_segment = "wal/00000000000000000001.log";

std::string payload_for(std::uint64_t index, std::size_t bytes) {
  std::string payload = "record-" + std::to_string(index) + "-";
  while (payload.size() < bytes) payload.push_back(static_cast<char>('a' + payload.size() % 26));
  return payload;
}

Wal::Opened open_ok(wal::Disk& disk, RecordIndex keep_from = RecordIndex{1},
                    wal::WalOptions options = {}) {
  auto opened = Wal::open(disk, options, keep_from);
  REQUIRE_MESSAGE(opened.ok(), opened.status().message);
  return std::move(opened).value();
}

// Appends and syncs `count` records of `bytes` each; returns their payloads.
std::vector<std::string> append_synced(Wal& log, std::size_t count, std::size_t bytes) {
  std::vector<std::string> payloads;
  for (std::size_t i = 0; i < count; ++i) {
    payloads.push_back(payload_for(log.next_index().value(), bytes));
    auto index = log.append(payloads.back());
    REQUIRE(index.ok());
  }
  REQUIRE(log.sync().ok());
  return payloads;
}

void check_records(const std::vector<wal::Record>& records, const std::vector<std::string>& payloads,
                   std::uint64_t first_index) {
  REQUIRE(records.size() == payloads.size());
  for (std::size_t i = 0; i < records.size(); ++i) {
    CHECK(records[i].index == RecordIndex{first_index + i});
    CHECK(records[i].payload == payloads[i]);
  }
}

}  // namespace

TEST_CASE("wal: segment names sort by index and parse back; other names are not segments") {
  CHECK(wal::segment_name(RecordIndex{42}) == "wal/00000000000000000042.log");
  CHECK(wal::parse_segment_file("00000000000000000042.log") == RecordIndex{42});
  CHECK_FALSE(wal::parse_segment_file("00000000000000000042.snap").has_value());
  CHECK_FALSE(wal::parse_segment_file("42.log").has_value());
  CHECK_FALSE(wal::parse_segment_file("0000000000000000004x.log").has_value());
  CHECK_FALSE(wal::parse_segment_file("00000000000000000000.log").has_value());
  CHECK_FALSE(wal::parse_segment_file("99999999999999999999.log").has_value());
  CHECK(wal::segment_name(RecordIndex{9}) < wal::segment_name(RecordIndex{10}));
}

TEST_CASE("wal: records appended and synced come back in order with their indices") {
  MemoryDisk disk;
  std::vector<std::string> payloads;
  {
    auto opened = open_ok(disk);
    CHECK(opened.records.empty());
    CHECK(opened.notes.empty());
    CHECK(opened.wal.next_index() == RecordIndex{1});
    payloads = append_synced(opened.wal, 10, 100);
    CHECK(opened.wal.next_index() == RecordIndex{11});
    CHECK(opened.wal.durable_end() == RecordIndex{11});
  }
  auto reopened = open_ok(disk);
  check_records(reopened.records, payloads, 1);
  CHECK(reopened.notes.empty());
  CHECK(reopened.wal.next_index() == RecordIndex{11});
  auto more = append_synced(reopened.wal, 1, 5);
  auto third = open_ok(disk);
  CHECK(third.records.size() == 11);
  CHECK(third.records.back().payload == more.front());
}

TEST_CASE("wal: one sync covers a whole batch of appends (group commit)") {
  MemoryDisk disk;
  auto opened = open_ok(disk);
  const auto syncs_before = disk.sync_count();
  const std::vector<std::string_view> batch = {"a", "bb", "ccc"};
  auto first = opened.wal.append(batch);
  REQUIRE(first.ok());
  CHECK(first.value() == RecordIndex{1});
  auto next = opened.wal.append("dddd");
  REQUIRE(next.ok());
  CHECK(next.value() == RecordIndex{4});
  CHECK(opened.wal.durable_end() == RecordIndex{1});
  CHECK(opened.wal.unsynced_bytes() == 4 * wal::record_header_bytes + 10);
  REQUIRE(opened.wal.sync().ok());
  CHECK(disk.sync_count() == syncs_before + 1);
  CHECK(opened.wal.durable_end() == RecordIndex{5});
  REQUIRE(opened.wal.sync().ok());
  CHECK(disk.sync_count() == syncs_before + 1);
}

TEST_CASE("wal: a sync begun before more appends makes only the earlier records durable") {
  MemoryDisk disk;
  auto opened = open_ok(disk);
  Wal& log = opened.wal;
  REQUIRE(log.append("first").ok());
  auto pending = log.begin_sync();
  REQUIRE(pending.ok());
  REQUIRE(pending.value().job != nullptr);
  CHECK(pending.value().end == RecordIndex{2});
  REQUIRE(log.append("second").ok());  // while the fsync thread runs the job
  const wal::Status ran = pending.value().job->run();
  REQUIRE(log.finish_sync(pending.value(), ran).ok());
  CHECK(log.durable_end() == RecordIndex{2});
  CHECK(log.unsynced_bytes() == wal::record_header_bytes + 6);
  REQUIRE(log.sync().ok());
  CHECK(log.durable_end() == RecordIndex{3});
  CHECK(log.unsynced_bytes() == 0);
  // Nothing unsynced: no job, and finishing it changes nothing.
  auto idle = log.begin_sync();
  REQUIRE(idle.ok());
  CHECK(idle.value().job == nullptr);
  REQUIRE(log.finish_sync(idle.value(), wal::Status{}).ok());
  CHECK(log.durable_end() == RecordIndex{3});
}

TEST_CASE("wal: a sync job that fails fails the log") {
  MemoryDisk disk;
  auto opened = open_ok(disk);
  REQUIRE(opened.wal.append("x").ok());
  auto pending = opened.wal.begin_sync();
  REQUIRE(pending.ok());
  disk.fail_next_syncs(1);
  const wal::Status ran = pending.value().job->run();
  CHECK(opened.wal.finish_sync(pending.value(), ran).error == Code::io_error);
  CHECK(opened.wal.durable_end() == RecordIndex{1});
  CHECK(opened.wal.append("y").status().error == Code::failed);
}

TEST_CASE("wal: segments rotate at segment_bytes_max and reopen as one sequence") {
  MemoryDisk disk;
  wal::WalOptions options;
  options.segment_bytes_max = 1000;
  std::vector<std::string> payloads;
  {
    auto opened = open_ok(disk, RecordIndex{1}, options);
    payloads = append_synced(opened.wal, 50, 92);  // 100 bytes on disk each
    CHECK(opened.wal.segment_count() > 5);
  }
  auto files = disk.list("wal");
  REQUIRE(files.ok());
  CHECK(files.value().size() > 5);
  for (const std::string& file : files.value()) {
    CHECK(disk.contents("wal/" + file).size() <= options.segment_bytes_max);
  }
  // 9 records of 100 bytes fit after the 20-byte header.
  CHECK(files.value()[1] == "00000000000000000010.log");
  auto reopened = open_ok(disk, RecordIndex{1}, options);
  check_records(reopened.records, payloads, 1);
}

TEST_CASE("wal: a record bigger than a segment gets a segment to itself") {
  MemoryDisk disk;
  wal::WalOptions options;
  options.segment_bytes_max = wal::segment_bytes_max_min;
  auto opened = open_ok(disk, RecordIndex{1}, options);
  const std::vector<std::string> payloads = {std::string(500, 'x'), std::string(300, 'y')};
  const std::vector<std::string_view> views(payloads.begin(), payloads.end());
  REQUIRE(opened.wal.append(views).ok());
  REQUIRE(opened.wal.sync().ok());
  CHECK(opened.wal.segment_count() == 2);
  auto reopened = open_ok(disk, RecordIndex{1}, options);
  check_records(reopened.records, payloads, 1);
}

TEST_CASE("wal: truncate_prefix removes whole segments below the index and keeps the rest") {
  MemoryDisk disk;
  wal::WalOptions options;
  options.segment_bytes_max = 1000;
  auto opened = open_ok(disk, RecordIndex{1}, options);
  auto payloads = append_synced(opened.wal, 50, 92);  // segments start at 1, 10, 19, 28, 37, 46
  REQUIRE(opened.wal.truncate_prefix(RecordIndex{30}).ok());
  CHECK(opened.wal.first_index() == RecordIndex{28});
  CHECK_FALSE(disk.exists("wal/00000000000000000019.log"));
  CHECK(disk.exists("wal/00000000000000000028.log"));
  // Recovery returns exactly the records from keep_from on.
  auto reopened = open_ok(disk, RecordIndex{30}, options);
  check_records(reopened.records, std::vector(payloads.begin() + 29, payloads.end()), 30);
  // Truncating past every closed segment keeps the open one.
  REQUIRE(reopened.wal.truncate_prefix(RecordIndex{51}).ok());
  CHECK(reopened.wal.segment_count() == 1);
  CHECK(reopened.wal.first_index() == RecordIndex{46});
}

TEST_CASE("wal: limits refuse a record above record_bytes_max and a batch above unsynced_bytes_max") {
  MemoryDisk disk;
  auto opened = open_ok(disk);
  const std::string huge(wal::record_bytes_max + 1, 'h');
  auto refused = opened.wal.append(huge);
  CHECK(refused.status().error == Code::too_large);
  const std::string big(wal::record_bytes_max, 'b');
  std::uint64_t unsynced = 0;
  while (unsynced + wal::record_bytes_on_disk(big.size()) <= wal::WalOptions{}.unsynced_bytes_max) {
    REQUIRE(opened.wal.append(big).ok());
    unsynced += wal::record_bytes_on_disk(big.size());
  }
  CHECK(opened.wal.append(big).status().error == Code::too_large);
  REQUIRE(opened.wal.sync().ok());
  CHECK(opened.wal.append(big).ok());
  CHECK(opened.wal.next_index() == RecordIndex{1 + unsynced / wal::record_bytes_on_disk(big.size()) + 1});
}

TEST_CASE("wal: after a failed sync the log refuses further work until recovery") {
  MemoryDisk disk;
  auto opened = open_ok(disk);
  REQUIRE(opened.wal.append("x").ok());
  disk.fail_next_syncs(1);
  CHECK(opened.wal.sync().error == Code::io_error);
  CHECK(opened.wal.sync().error == Code::failed);
  CHECK(opened.wal.append("y").status().error == Code::failed);
  CHECK(opened.wal.truncate_prefix(RecordIndex{1}).error == Code::failed);
}

TEST_CASE("wal: rotation and truncate_prefix never fsync on the caller's path; the sync job does") {
  MemoryDisk disk;
  wal::WalOptions options;
  options.segment_bytes_max = 1000;
  std::vector<std::string> payloads;
  {
    auto opened = open_ok(disk, RecordIndex{1}, options);
    Wal& log = opened.wal;
    const auto syncs = disk.sync_count();
    const auto dir_syncs = disk.sync_dir_count();
    for (std::size_t i = 0; i < 50; ++i) {
      payloads.push_back(payload_for(log.next_index().value(), 92));  // 100 bytes on disk
      REQUIRE(log.append(payloads.back()).ok());
    }
    CHECK(log.segment_count() > 5);             // it rotated ...
    CHECK(disk.sync_count() == syncs);          // ... without an fdatasync
    CHECK(disk.sync_dir_count() == dir_syncs);  // or an fsync of wal/
    CHECK(log.durable_end() == RecordIndex{1});
    // The segments after the first wait in memory until it is durable.
    CHECK(disk.list("wal").value().size() == 1);
    // One group commit per held segment makes them all durable, in order.
    auto first = log.begin_sync();
    REQUIRE(first.ok());
    REQUIRE(log.finish_sync(first.value(), first.value().run()).ok());
    CHECK(log.durable_end() == RecordIndex{10});  // the full first segment
    REQUIRE(log.sync().ok());
    CHECK(log.durable_end() == log.next_index());
    const auto dir_syncs_after = disk.sync_dir_count();
    REQUIRE(log.truncate_prefix(RecordIndex{30}).ok());
    CHECK(disk.sync_dir_count() == dir_syncs_after);  // the removals wait for the next sync
    REQUIRE(log.append("one more").ok());
    REQUIRE(log.sync().ok());
    CHECK(disk.sync_dir_count() > dir_syncs_after);
    payloads.push_back("one more");
  }
  auto files = disk.list("wal");
  REQUIRE(files.ok());
  for (const std::string& file : files.value()) {
    CHECK(disk.contents("wal/" + file).size() <= options.segment_bytes_max);
  }
  auto reopened = open_ok(disk, RecordIndex{30}, options);
  check_records(reopened.records, std::vector(payloads.begin() + 29, payloads.end()), 30);
}

TEST_CASE(
    "wal: after a failed sync, rolling back to the durable point leaves only durable records") {
  MemoryDisk disk;
  std::vector<std::string> payloads;
  wal::DurablePoint point;
  {
    auto opened = open_ok(disk);
    payloads = append_synced(opened.wal, 3, 40);
    REQUIRE(opened.wal.append("unsynced-4").ok());
    REQUIRE(opened.wal.append("unsynced-5").ok());
    auto pending = opened.wal.begin_sync();
    REQUIRE(pending.ok());
    disk.fail_next_syncs(1);
    const wal::Status ran = pending.value().job->run();
    REQUIRE_FALSE(opened.wal.finish_sync(pending.value(), ran).ok());
    point = opened.wal.durable_point();
  }
  CHECK(point.segment == RecordIndex{1});
  REQUIRE(wal::roll_back_to(disk, point).ok());
  auto reopened = open_ok(disk);
  check_records(reopened.records, payloads, 1);
  CHECK(reopened.wal.next_index() == RecordIndex{4});
}

TEST_CASE("wal: rolling back removes a segment begun after the durable point and a torn write") {
  MemoryDisk disk;
  wal::WalOptions options;
  options.segment_bytes_max = 1000;
  std::vector<std::string> payloads;
  wal::DurablePoint point;
  {
    auto opened = open_ok(disk, RecordIndex{1}, options);
    payloads = append_synced(opened.wal, 9, 92);  // 100 bytes on disk each
    REQUIRE(opened.wal.segment_count() == 1);
    // Two more rotate (the full segment is durable, so the new one is
    // written at once); then the disk fills in the middle of a record.
    REQUIRE(opened.wal.append(payload_for(10, 92)).ok());
    REQUIRE(opened.wal.append(payload_for(11, 92)).ok());
    REQUIRE(opened.wal.segment_count() == 2);
    disk.set_space_bytes(disk.used_bytes() + 30);
    CHECK(opened.wal.append(payload_for(12, 92)).status().error == Code::io_error);
    point = opened.wal.durable_point();
  }
  disk.set_space_bytes(std::nullopt);
  REQUIRE(wal::roll_back_to(disk, point).ok());
  auto files = disk.list("wal");
  REQUIRE(files.ok());
  CHECK(files.value().size() == 1);
  auto reopened = open_ok(disk, RecordIndex{1}, options);
  check_records(reopened.records, payloads, 1);
  CHECK(reopened.notes.empty());  // nothing torn is left for recovery to repair
}
