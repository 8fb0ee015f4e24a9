#include <doctest/doctest.h>

#include <string>

#include "base/prng.h"
#include "server/wal/memory_disk.h"
#include "server/wal/meta.h"
#include "server/wal/recovery.h"
#include "server/wal/snapshot_file.h"
#include "tests/unit/wal/power_cut_disk.h"

using namespace synod;
using wal::Code;
using wal::MemoryDisk;
using wal::RecordIndex;

namespace {

wal::LoadedSnapshot load_ok(wal::Disk& disk) {
  auto loaded = wal::load_newest_snapshot(disk);
  REQUIRE_MESSAGE(loaded.ok(), loaded.status().message);
  return std::move(loaded).value();
}

}  // namespace

TEST_CASE("snapshot: a written snapshot reads back whole, and the newest slot wins") {
  MemoryDisk disk;
  CHECK_FALSE(load_ok(disk).snapshot.has_value());
  REQUIRE(wal::write_snapshot(disk, Slot{7}, RecordIndex{3}, "state at 7").ok());
  REQUIRE(wal::write_snapshot(disk, Slot{12}, RecordIndex{9}, "state at 12").ok());
  CHECK(disk.exists("snap/00000000000000000012.snap"));
  const auto loaded = load_ok(disk);
  REQUIRE(loaded.snapshot.has_value());
  CHECK(*loaded.snapshot == wal::Snapshot{Slot{12}, RecordIndex{9}, "state at 12"});
  CHECK(loaded.notes.empty());
  REQUIRE(wal::remove_snapshots_below(disk, Slot{12}).ok());
  auto slots = wal::list_snapshots(disk);
  REQUIRE(slots.ok());
  CHECK(slots.value() == std::vector<Slot>{Slot{12}});
}

TEST_CASE("snapshot: a damaged newest snapshot falls back to an older one and says so") {
  MemoryDisk disk;
  REQUIRE(wal::write_snapshot(disk, Slot{7}, RecordIndex{3}, "state at 7").ok());
  REQUIRE(wal::write_snapshot(disk, Slot{12}, RecordIndex{9}, "state at 12").ok());
  disk.corrupt("snap/00000000000000000012.snap", 40);
  const auto loaded = load_ok(disk);
  REQUIRE(loaded.snapshot.has_value());
  CHECK(loaded.snapshot->slot == Slot{7});
  REQUIRE(loaded.notes.size() == 1);
  CHECK(loaded.notes[0] == "snap/00000000000000000012.snap: bad checksum at offset 32; falling "
                           "back to an older snapshot");
}

TEST_CASE("snapshot: when every snapshot is damaged recovery fails naming the newest") {
  MemoryDisk disk;
  REQUIRE(wal::write_snapshot(disk, Slot{7}, RecordIndex{3}, "state at 7").ok());
  REQUIRE(wal::write_snapshot(disk, Slot{12}, RecordIndex{9}, "state at 12").ok());
  disk.corrupt("snap/00000000000000000012.snap", 0);
  disk.corrupt("snap/00000000000000000007.snap", 24);
  auto loaded = wal::load_newest_snapshot(disk);
  REQUIRE_FALSE(loaded.ok());
  CHECK(loaded.status().error == Code::corrupt);
  CHECK(loaded.status().message ==
        "snap/00000000000000000012.snap: bad magic at offset 0 (and no older snapshot is valid)");
}

TEST_CASE("snapshot: every field is checked on the way back in") {
  const std::string bytes = wal::encode_snapshot(Slot{5}, RecordIndex{2}, "payload");
  CHECK(wal::decode_snapshot("s", bytes, Slot{5}).ok());
  CHECK(wal::decode_snapshot("s", bytes, Slot{6}).status().message ==
        "s: slot 5 at offset 8 disagrees with the file name");
  CHECK(wal::decode_snapshot("s", bytes.substr(0, 20), Slot{5}).status().message ==
        "s: snapshot header is 20 bytes at offset 0, needs 36");
  CHECK(wal::decode_snapshot("s", bytes + "x", Slot{5}).status().message ==
        "s: payload length 7 at offset 24 disagrees with the file size 44");
  for (std::size_t offset = 0; offset < bytes.size(); ++offset) {
    CAPTURE(offset);
    std::string damaged = bytes;
    damaged[offset] = static_cast<char>(~static_cast<unsigned char>(damaged[offset]));
    CHECK(wal::decode_snapshot("s", damaged, Slot{5}).status().error == Code::corrupt);
  }
}

TEST_CASE("snapshot: a crash at any point of a write leaves the old or the new snapshot whole") {
  bool saw_old = false, saw_new = false;
  for (std::uint64_t seed = 0; seed < 300; ++seed) {
    CAPTURE(seed);
    base::Prng prng(seed);
    MemoryDisk disk;
    REQUIRE(wal::write_snapshot(disk, Slot{7}, RecordIndex{3}, "old state").ok());
    wal::testing::PowerCutDisk cut(disk, prng.range(0, 6));
    static_cast<void>(wal::write_snapshot(cut, Slot{9}, RecordIndex{5}, "new state"));
    disk.crash(prng);
    const auto loaded = load_ok(disk);
    REQUIRE(loaded.snapshot.has_value());
    const bool is_old = *loaded.snapshot == wal::Snapshot{Slot{7}, RecordIndex{3}, "old state"};
    const bool is_new = *loaded.snapshot == wal::Snapshot{Slot{9}, RecordIndex{5}, "new state"};
    CHECK((is_old || is_new));
    saw_old = saw_old || is_old;
    saw_new = saw_new || is_new;
    CHECK_FALSE(disk.exists("snap/00000000000000000009.snap.tmp"));
  }
  CHECK(saw_old);
  CHECK(saw_new);
}

TEST_CASE("meta: a written blob reads back; no meta reads as none; an empty blob is kept") {
  MemoryDisk disk;
  auto none = wal::read_meta(disk);
  REQUIRE(none.ok());
  CHECK_FALSE(none.value().has_value());
  REQUIRE(wal::write_meta(disk, "ballot (3,1)").ok());
  auto read = wal::read_meta(disk);
  REQUIRE(read.ok());
  CHECK(read.value() == std::optional<std::string>("ballot (3,1)"));
  REQUIRE(wal::write_meta(disk, "").ok());
  CHECK(wal::read_meta(disk).value() == std::optional<std::string>(""));
  CHECK_FALSE(disk.exists("meta.tmp"));
  CHECK(wal::write_meta(disk, std::string(wal::meta_bytes_max + 1, 'm')).error == Code::too_large);
}

TEST_CASE("meta: a flipped byte anywhere is fatal and names meta and the offset") {
  MemoryDisk disk;
  REQUIRE(wal::write_meta(disk, "ballot (3,1)").ok());
  const std::uint64_t size = disk.contents("meta").size();
  for (std::uint64_t offset = 0; offset < size; ++offset) {
    CAPTURE(offset);
    MemoryDisk damaged = disk;
    damaged.corrupt("meta", offset);
    auto read = wal::read_meta(damaged);
    REQUIRE_FALSE(read.ok());
    CHECK(read.status().error == Code::corrupt);
    CHECK(read.status().message.starts_with("meta: "));
    CHECK(read.status().message.find(" at offset ") != std::string::npos);
  }
  MemoryDisk damaged = disk;
  damaged.corrupt("meta", 20);
  CHECK(wal::read_meta(damaged).status().message == "meta: bad checksum at offset 12");
}

TEST_CASE("meta: a crash at any point of a write leaves the old blob or the new one, never a mix") {
  bool saw_old = false, saw_new = false;
  for (std::uint64_t seed = 0; seed < 300; ++seed) {
    CAPTURE(seed);
    base::Prng prng(seed);
    MemoryDisk disk;
    REQUIRE(wal::write_meta(disk, "promised (1,1) config A").ok());
    wal::testing::PowerCutDisk cut(disk, prng.range(0, 6));
    static_cast<void>(wal::write_meta(cut, "promised (2,3) config B"));
    disk.crash(prng);
    auto recovered = wal::recover(disk, {});
    REQUIRE_MESSAGE(recovered.ok(), recovered.status().message);
    const auto& meta = recovered.value().meta;
    REQUIRE(meta.has_value());
    CHECK((*meta == "promised (1,1) config A" || *meta == "promised (2,3) config B"));
    saw_old = saw_old || *meta == "promised (1,1) config A";
    saw_new = saw_new || *meta == "promised (2,3) config B";
    CHECK_FALSE(disk.exists("meta.tmp"));
  }
  CHECK(saw_old);
  CHECK(saw_new);
}
