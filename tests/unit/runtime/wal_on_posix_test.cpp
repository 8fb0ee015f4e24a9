// The real WAL over real files: what wal::Wal and wal::recover wrote through
// one PosixDisk, a new PosixDisk on the same dir recovers; a torn tail cut
// with truncate(2) is repaired; a flipped byte in the middle is fatal and
// named.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <vector>

#include "server/runtime/posix_disk.h"
#include "tests/unit/wal/wal_payloads.h"
#include "server/wal/meta.h"
#include "server/wal/recovery.h"
#include "server/wal/snapshot_file.h"
#include "server/wal/wal.h"
#include "tests/unit/runtime/temp_dir.h"

using namespace synod;
using runtime::PosixDisk;
using runtime::testing::TempDir;
using wal::Code;
using wal::RecordIndex;
using wal::Wal;

namespace {

using wal::testing::first_segment;
using wal::testing::payload_bytes;
using wal::testing::payload_for;
using wal::testing::record_bytes;

// `count` synced records in a fresh wal/ under data_dir, through a PosixDisk
// that is gone when this returns.
void write_records(const std::string& data_dir, std::uint64_t count) {
  PosixDisk disk(data_dir);
  auto opened = Wal::open(disk, {}, RecordIndex{1});
  REQUIRE(opened.ok());
  Wal& log = opened.value().wal;
  for (std::uint64_t i = 0; i < count; ++i) {
    REQUIRE(log.append(payload_for(log.next_index().value())).ok());
  }
  REQUIRE(log.sync().ok());
}

std::uint64_t file_size(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return static_cast<std::uint64_t>(st.st_size);
}

// A media fault by hand: every bit of one byte flipped, in place.
void flip_byte(const std::string& path, std::uint64_t offset) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  REQUIRE(fd >= 0);
  char byte = 0;
  REQUIRE(::pread(fd, &byte, 1, static_cast<off_t>(offset)) == 1);
  byte = static_cast<char>(~static_cast<unsigned char>(byte));
  REQUIRE(::pwrite(fd, &byte, 1, static_cast<off_t>(offset)) == 1);
  REQUIRE(::close(fd) == 0);
}

}  // namespace

TEST_CASE("wal on posix disk: meta, a snapshot and the log survive into a new PosixDisk") {
  TempDir temp;
  wal::WalOptions options;
  options.segment_bytes_max = 1024;  // a few dozen records per segment: rotations happen
  constexpr std::uint64_t record_count = 200;
  const RecordIndex keep_from{50};
  {
    PosixDisk disk(temp.path());
    auto recovered = wal::recover(disk, options);
    REQUIRE(recovered.ok());
    CHECK(recovered.value().records.empty());
    Wal& log = recovered.value().wal;
    REQUIRE(wal::write_meta(disk, "promised ballot 7").ok());
    std::uint64_t batch = 1;
    while (log.next_index().value() <= record_count) {
      std::vector<std::string> payloads;
      for (std::uint64_t i = 0; i < batch && log.next_index().value() + i <= record_count; ++i) {
        payloads.push_back(payload_for(log.next_index().value() + i));
      }
      const std::vector<std::string_view> views(payloads.begin(), payloads.end());
      REQUIRE(log.append(views).ok());
      REQUIRE(log.sync().ok());
      batch = batch % 5 + 1;
    }
    REQUIRE(wal::write_snapshot(disk, Slot{49}, keep_from, "store at 49").ok());
    REQUIRE(log.truncate_prefix(keep_from).ok());
    CHECK(log.segment_count() > 3);
  }
  PosixDisk disk(temp.path());
  CHECK(disk.list("wal").value().size() > 3);
  auto recovered = wal::recover(disk, options);
  REQUIRE(recovered.ok());
  const wal::Recovery& r = recovered.value();
  CHECK(r.notes.empty());
  REQUIRE(r.meta.has_value());
  CHECK(*r.meta == "promised ballot 7");
  REQUIRE(r.snapshot.has_value());
  CHECK(r.snapshot->slot == Slot{49});
  CHECK(r.snapshot->wal_index_min == keep_from);
  CHECK(r.snapshot->payload == "store at 49");
  REQUIRE(r.records.size() == record_count - keep_from.value() + 1);
  for (const wal::Record& record : r.records) {
    CHECK(record.payload == payload_for(record.index.value()));
  }
  CHECK(r.records.front().index == keep_from);
  CHECK(r.records.back().index == RecordIndex{record_count});
}

TEST_CASE("wal on posix disk: a tail cut mid-record with truncate(2) is truncated, the rest survives") {
  for (const std::uint64_t cut : {std::uint64_t{1}, std::uint64_t{7}, std::uint64_t{20},
                                  record_bytes - 1}) {
    CAPTURE(cut);
    TempDir temp;
    write_records(temp.path(), 5);
    const std::string segment = temp / first_segment;
    const std::uint64_t full = wal::segment_header_bytes + 5 * record_bytes;
    REQUIRE(file_size(segment) == full);
    REQUIRE(::truncate(segment.c_str(), static_cast<off_t>(full - cut)) == 0);
    {
      PosixDisk disk(temp.path());
      auto opened = Wal::open(disk, {}, RecordIndex{1});
      REQUIRE(opened.ok());
      CHECK(opened.value().records.size() == 4);
      CHECK(opened.value().notes.size() == 1);
      CHECK(file_size(segment) == full - record_bytes);
      // The log goes on from the repaired tail.
      Wal& log = opened.value().wal;
      CHECK(log.next_index() == RecordIndex{5});
      REQUIRE(log.append("after the repair").ok());
      REQUIRE(log.sync().ok());
    }
    PosixDisk disk(temp.path());
    auto again = Wal::open(disk, {}, RecordIndex{1});
    REQUIRE(again.ok());
    CHECK(again.value().notes.empty());
    REQUIRE(again.value().records.size() == 5);
    for (std::uint64_t i = 0; i < 4; ++i) {
      CHECK(again.value().records[i].payload == payload_for(i + 1));
    }
    CHECK(again.value().records[4].payload == "after the repair");
  }
}

TEST_CASE("wal on posix disk: a flipped byte in a middle record is fatal and names file and offset") {
  TempDir temp;
  write_records(temp.path(), 3);
  const std::uint64_t middle = wal::segment_header_bytes + record_bytes;
  flip_byte(temp / first_segment, middle + 20);
  PosixDisk disk(temp.path());
  auto opened = Wal::open(disk, {}, RecordIndex{1});
  REQUIRE_FALSE(opened.ok());
  CHECK(opened.status().error == Code::corrupt);
  CHECK(opened.status().message ==
        first_segment + ": bad checksum at offset " + std::to_string(middle) +
            ", followed by a valid record at offset " + std::to_string(middle + record_bytes) +
            " (damage, not a torn write)");
  // recover() refuses the same way, and repairs nothing.
  auto recovered = wal::recover(disk, {});
  REQUIRE_FALSE(recovered.ok());
  CHECK(recovered.status().error == Code::corrupt);
  CHECK(recovered.status().message.find(first_segment) != std::string::npos);
  CHECK(recovered.status().message.find("offset " + std::to_string(middle)) != std::string::npos);
  CHECK(file_size(temp / first_segment) == wal::segment_header_bytes + 3 * record_bytes);
}
