// Recovery of wal/ after crashes and media faults: segment.h rules T, H, O, D.
#include <doctest/doctest.h>

#include <map>
#include <string>
#include <vector>

#include "base/prng.h"
#include "tests/unit/wal/wal_payloads.h"
#include "server/wal/memory_disk.h"
#include "server/wal/wal.h"
#include "tests/unit/wal/power_cut_disk.h"

using namespace synod;
using wal::Code;
using wal::MemoryDisk;
using wal::RecordIndex;
using wal::Wal;

namespace {

using wal::testing::first_segment;
using wal::testing::payload_bytes;
using wal::testing::payload_for;
using wal::testing::record_bytes;

// A disk whose one segment holds `count` synced records of payload_bytes.
void write_records(MemoryDisk& disk, std::uint64_t count, wal::WalOptions options = {}) {
  auto opened = Wal::open(disk, options, RecordIndex{1});
  REQUIRE(opened.ok());
  Wal& log = opened.value().wal;
  for (std::uint64_t i = 0; i < count; ++i) {
    REQUIRE(log.append(payload_for(log.next_index().value())).ok());
  }
  REQUIRE(log.sync().ok());
}

// A fresh disk holding exactly `bytes` as the (durable) file `name`.
MemoryDisk disk_with(const std::string& name, const std::string& bytes) {
  MemoryDisk disk;
  REQUIRE(disk.create(name).ok());
  REQUIRE(disk.append(name, bytes).ok());
  REQUIRE(disk.sync(name).ok());
  REQUIRE(disk.sync_dir("wal").ok());
  return disk;
}

std::string open_error(MemoryDisk& disk, wal::WalOptions options = {}) {
  auto opened = Wal::open(disk, options, RecordIndex{1});
  REQUIRE_FALSE(opened.ok());
  CHECK(opened.status().error == Code::corrupt);
  return opened.status().message;
}

}  // namespace

TEST_CASE("recovery: a torn WAL tail is truncated at every byte of the last record") {
  MemoryDisk source;
  write_records(source, 3);
  const std::string full = source.contents(first_segment);
  const std::uint64_t two_records = wal::segment_header_bytes + 2 * record_bytes;
  REQUIRE(full.size() == two_records + record_bytes);
  for (std::uint64_t cut = two_records + 1; cut < full.size(); ++cut) {
    CAPTURE(cut);
    MemoryDisk disk = disk_with(first_segment, full.substr(0, cut));
    auto opened = Wal::open(disk, {}, RecordIndex{1});
    REQUIRE_MESSAGE(opened.ok(), opened.status().message);
    REQUIRE(opened.value().records.size() == 2);
    CHECK(opened.value().records[1].payload == payload_for(2));
    CHECK(opened.value().wal.next_index() == RecordIndex{3});
    REQUIRE(opened.value().notes.size() == 1);
    CHECK(opened.value().notes[0] == first_segment + ": truncated a torn tail at offset " +
                                         std::to_string(two_records) + " (" +
                                         std::to_string(cut - two_records) +
                                         " bytes of an unsynced write lost in a crash)");
    CHECK(disk.contents(first_segment).size() == two_records);
  }
}

TEST_CASE("recovery: garbage or a bad checksum in the last record at the tail counts as torn") {
  MemoryDisk source;
  write_records(source, 3);
  const std::string full = source.contents(first_segment);
  const std::uint64_t two_records = wal::segment_header_bytes + 2 * record_bytes;
  base::Prng prng(11);
  for (std::uint64_t from = two_records; from < full.size(); ++from) {
    CAPTURE(from);
    std::string bytes = full;
    for (std::uint64_t i = from; i < bytes.size(); ++i) {
      bytes[i] = static_cast<char>(prng.below(256));
    }
    if (bytes == full) continue;
    MemoryDisk disk = disk_with(first_segment, bytes);
    auto opened = Wal::open(disk, {}, RecordIndex{1});
    REQUIRE_MESSAGE(opened.ok(), opened.status().message);
    CHECK(opened.value().records.size() == 2);
    CHECK(disk.contents(first_segment).size() == two_records);
    // The repair was made durable: the next recovery has nothing to say.
    auto again = Wal::open(disk, {}, RecordIndex{1});
    REQUIRE(again.ok());
    CHECK(again.value().notes.empty());
  }
}

TEST_CASE("recovery: a flipped byte in a middle record is fatal and names file and offset") {
  MemoryDisk source;
  write_records(source, 3);
  const std::string full = source.contents(first_segment);
  const std::uint64_t middle = wal::segment_header_bytes + record_bytes;
  for (std::uint64_t offset = middle; offset < middle + record_bytes; ++offset) {
    CAPTURE(offset);
    MemoryDisk disk = disk_with(first_segment, full);
    disk.corrupt(first_segment, offset);
    const std::string message = open_error(disk);
    CHECK(message.starts_with(first_segment + ": "));
    const std::string at = "at offset " + std::to_string(middle);
    CHECK((message.find(at + " ") != std::string::npos || message.find(at + ",") != std::string::npos));
    CHECK(message.find("followed by a valid record at offset " +
                       std::to_string(middle + record_bytes)) != std::string::npos);
  }
  MemoryDisk disk = disk_with(first_segment, full);
  disk.corrupt(first_segment, middle + 20);
  CHECK(open_error(disk) == first_segment + ": bad checksum at offset 68, followed by a valid " +
                                "record at offset 116 (damage, not a torn write)");
}

TEST_CASE("recovery: a flipped byte anywhere in a closed segment is fatal, even in its last record") {
  MemoryDisk source;
  wal::WalOptions options;
  options.segment_bytes_max = wal::segment_header_bytes + 3 * record_bytes;
  write_records(source, 7, options);  // segments at 1, 4, 7
  const std::string closed = "wal/00000000000000000004.log";
  const std::uint64_t size = source.contents(closed).size();
  REQUIRE(size == wal::segment_header_bytes + 3 * record_bytes);
  const std::uint64_t last_record = wal::segment_header_bytes + 2 * record_bytes;
  for (std::uint64_t offset = 0; offset < size; ++offset) {
    CAPTURE(offset);
    MemoryDisk disk = source;
    disk.corrupt(closed, offset);
    const std::string message = open_error(disk, options);
    CHECK(message.starts_with(closed + ": "));
    if (offset < 4) CHECK(message == closed + ": bad magic at offset 0");
    if (offset == 4) CHECK(message.starts_with(closed + ": unsupported format version 254"));
    if (offset > 4 && offset < 20) CHECK(message == closed + ": bad header checksum at offset 16");
    if (offset >= last_record) {
      CHECK(message.find("at offset " + std::to_string(last_record)) != std::string::npos);
      CHECK(message.ends_with("in a closed segment"));
    }
  }
}

TEST_CASE("recovery: a missing segment in the middle of the sequence is fatal") {
  MemoryDisk disk;
  wal::WalOptions options;
  options.segment_bytes_max = wal::segment_header_bytes + 3 * record_bytes;
  write_records(disk, 9, options);  // segments at 1, 4, 7
  REQUIRE(disk.remove("wal/00000000000000000004.log").ok());
  CHECK(open_error(disk, options) ==
        "wal/00000000000000000007.log: first index 7 at offset 8 does not follow "
        "wal/00000000000000000001.log, which ends before index 4 (a segment is missing)");
  // Below keep_from the same gap is only obsolete segments (rule O).
  auto opened = Wal::open(disk, options, RecordIndex{7});
  REQUIRE(opened.ok());
  CHECK(opened.value().records.size() == 3);
  CHECK_FALSE(disk.exists(first_segment));
}

TEST_CASE("recovery: the log missing records the snapshot does not cover is fatal") {
  MemoryDisk disk;
  wal::WalOptions options;
  options.segment_bytes_max = wal::segment_header_bytes + 3 * record_bytes;
  write_records(disk, 9, options);
  REQUIRE(disk.remove(first_segment).ok());
  CHECK(open_error(disk, options) ==
        "wal/00000000000000000004.log: first index 4 at offset 8, but records from index 1 "
        "are needed (a segment is missing)");
}

TEST_CASE("recovery: a segment whose header names another index is fatal") {
  MemoryDisk source;
  write_records(source, 2);
  MemoryDisk disk = disk_with("wal/00000000000000000005.log", source.contents(first_segment));
  auto opened = Wal::open(disk, {}, RecordIndex{5});
  REQUIRE_FALSE(opened.ok());
  CHECK(opened.status().message ==
        "wal/00000000000000000005.log: header first index 1 at offset 8 disagrees with the "
        "file name");
}

TEST_CASE("recovery: an interrupted rotation leaves a headerless last segment that is removed") {
  MemoryDisk source;
  write_records(source, 3);
  const std::string header = wal::encode_segment_header(RecordIndex{4});
  const std::string next = "wal/00000000000000000004.log";
  for (std::uint64_t bytes = 0; bytes <= header.size(); ++bytes) {
    CAPTURE(bytes);
    MemoryDisk disk = source;
    REQUIRE(disk.create(next).ok());
    std::string partial = header.substr(0, bytes);
    if (bytes == header.size()) partial[17] = 'x';  // complete length, bad crc
    REQUIRE(disk.append(next, partial).ok());
    auto opened = Wal::open(disk, {}, RecordIndex{1});
    REQUIRE_MESSAGE(opened.ok(), opened.status().message);
    CHECK(opened.value().records.size() == 3);
    CHECK(opened.value().notes.size() == 1);
    CHECK_FALSE(disk.exists(next));
    Wal& log = opened.value().wal;
    REQUIRE(log.append("after").ok());
    REQUIRE(log.sync().ok());
    auto again = Wal::open(disk, {}, RecordIndex{1});
    REQUIRE(again.ok());
    CHECK(again.value().records.size() == 4);
    CHECK(again.value().records.back().payload == "after");
  }
}

TEST_CASE("recovery: a last segment with a bad header followed by more bytes is fatal") {
  MemoryDisk disk;
  write_records(disk, 2);
  disk.corrupt(first_segment, 9);
  CHECK(open_error(disk) == first_segment + ": bad header checksum at offset 16");
}

TEST_CASE("recovery: a log that ends before the snapshot's keep_from continues there") {
  MemoryDisk disk;
  write_records(disk, 3);
  auto opened = Wal::open(disk, {}, RecordIndex{10});
  REQUIRE(opened.ok());
  CHECK(opened.value().records.empty());
  CHECK(opened.value().wal.next_index() == RecordIndex{10});
  REQUIRE(opened.value().wal.append("ten").ok());
  REQUIRE(opened.value().wal.sync().ok());
  auto again = Wal::open(disk, {}, RecordIndex{10});
  REQUIRE(again.ok());
  REQUIRE(again.value().records.size() == 1);
  CHECK(again.value().records[0] == wal::Record{RecordIndex{10}, "ten"});
  CHECK_FALSE(disk.exists(first_segment));
}

// The model: what was appended at each index in this incarnation, and the
// durable end the Wal reported. After any crash, recovery must return every
// record in [keep_from, durable_end) and nothing that was not appended.
TEST_CASE("recovery: crashes at random points never lose a synced record or invent one") {
  std::map<std::string, int> repairs_seen;
  for (std::uint64_t seed = 0; seed < 400; ++seed) {
    CAPTURE(seed);
    base::Prng prng(seed);
    MemoryDisk disk;
    wal::WalOptions options;
    options.segment_bytes_max = prng.range(wal::segment_bytes_max_min, 2000);
    std::map<std::uint64_t, std::string> appended;
    std::uint64_t durable_end = 1;
    std::uint64_t keep_from = 1;
    for (int life = 0; life < 6; ++life) {
      wal::testing::PowerCutDisk cut(disk, prng.range(1, 120));
      auto opened = Wal::open(cut, options, RecordIndex{keep_from});
      if (!opened.ok()) {
        REQUIRE_MESSAGE(cut.power_lost(), opened.status().message);
        disk.crash(prng);
        continue;
      }
      for (const std::string& note : opened.value().notes) {
        if (note.find("torn tail") != std::string::npos) ++repairs_seen["torn tail"];
        if (note.find("never completed") != std::string::npos) ++repairs_seen["rotation"];
        if (note.find("which the snapshot covers") != std::string::npos) ++repairs_seen["obsolete"];
      }
      ++repairs_seen["recovered"];
      Wal& log = opened.value().wal;
      const auto& records = opened.value().records;
      REQUIRE(log.next_index().value() >= durable_end);
      REQUIRE(records.size() == log.next_index().value() - keep_from);
      for (const wal::Record& record : records) {
        REQUIRE(appended.contains(record.index.value()));
        REQUIRE(record.payload == appended.at(record.index.value()));
      }
      std::erase_if(appended, [&](const auto& entry) { return entry.first >= log.next_index().value(); });
      durable_end = log.next_index().value();
      while (!cut.power_lost()) {
        const auto choice = prng.below(10);
        if (choice < 6) {
          const std::uint64_t index = log.next_index().value();
          std::string payload = "r" + std::to_string(index) + std::string(prng.range(0, 150), 'p');
          if (log.append(payload).ok()) appended[index] = std::move(payload);
        } else if (choice < 9) {
          if (log.sync().ok()) durable_end = log.durable_end().value();
        } else {
          // A snapshot covering records below k became durable; then truncate.
          keep_from = prng.range(keep_from, log.durable_end().value());
          static_cast<void>(log.truncate_prefix(RecordIndex{keep_from}));
        }
        durable_end = std::max(durable_end, log.durable_end().value());
      }
      disk.crash(prng);
    }
  }
  // The run reached every repair rule, so the checks above had work to do.
  CAPTURE(repairs_seen);
  CHECK(repairs_seen["recovered"] > 1000);
  CHECK(repairs_seen["torn tail"] > 50);
  CHECK(repairs_seen["rotation"] > 5);
  CHECK(repairs_seen["obsolete"] > 5);
}
