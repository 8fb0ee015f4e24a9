#include <doctest/doctest.h>

#include <string>

#include "base/prng.h"
#include "server/wal/memory_disk.h"

using namespace synod;
using wal::MemoryDisk;

namespace {

std::string read_all(MemoryDisk& disk, std::string_view name) {
  auto bytes = wal::read_whole(disk, name);
  REQUIRE(bytes.ok());
  return std::move(bytes).value();
}

}  // namespace

TEST_CASE("memory disk: appends are visible at once and a range read sees them") {
  MemoryDisk disk;
  REQUIRE(disk.create("wal/a").ok());
  REQUIRE(disk.append("wal/a", "hello ").ok());
  REQUIRE(disk.append("wal/a", "world").ok());
  CHECK(read_all(disk, "wal/a") == "hello world");
  auto part = disk.read("wal/a", 6, 100);
  REQUIRE(part.ok());
  CHECK(part.value() == "world");
  auto past = disk.read("wal/a", 99, 4);
  REQUIRE(past.ok());
  CHECK(past.value().empty());
  auto listed = disk.list("wal");
  REQUIRE(listed.ok());
  CHECK(listed.value() == std::vector<std::string>{"a"});
  CHECK(disk.size("wal/b").status().error == wal::Code::not_found);
  CHECK(disk.append("wal/b", "x").error == wal::Code::not_found);
}

TEST_CASE("memory disk: synced bytes and synced names survive every crash") {
  for (std::uint64_t seed = 0; seed < 200; ++seed) {
    CAPTURE(seed);
    MemoryDisk disk;
    base::Prng prng(seed);
    REQUIRE(disk.create("wal/a").ok());
    REQUIRE(disk.append("wal/a", "durable").ok());
    REQUIRE(disk.sync("wal/a").ok());
    REQUIRE(disk.sync_dir("wal").ok());
    REQUIRE(disk.append("wal/a", "-volatile-tail").ok());
    disk.crash(prng);
    REQUIRE(disk.exists("wal/a"));
    const std::string after = disk.contents("wal/a");
    CHECK(after.substr(0, 7) == "durable");
    CHECK(after.size() <= std::string("durable-volatile-tail").size());
  }
}

TEST_CASE("memory disk: a crash keeps a prefix of unsynced appends, the last maybe torn") {
  bool saw_none = false, saw_all = false, saw_torn = false;
  for (std::uint64_t seed = 0; seed < 300; ++seed) {
    MemoryDisk disk;
    base::Prng prng(seed);
    REQUIRE(disk.create("f").ok());
    REQUIRE(disk.sync("f").ok());
    REQUIRE(disk.sync_dir("").ok());
    REQUIRE(disk.append("f", "aaaa").ok());
    REQUIRE(disk.append("f", "bbbb").ok());
    disk.crash(prng);
    const std::string after = disk.contents("f");
    saw_none = saw_none || after.empty();
    saw_all = saw_all || after == "aaaabbbb";
    const bool clean = after.empty() || after == "aaaa" || after == "aaaabbbb";
    saw_torn = saw_torn || !clean;
    // Never a later write without the earlier one, never longer than written.
    CHECK(after.size() <= 8);
    if (after.size() > 4) CHECK(after.substr(0, 4) == "aaaa");
  }
  CHECK(saw_none);
  CHECK(saw_all);
  CHECK(saw_torn);
}

TEST_CASE("memory disk: a rename not followed by sync_dir may be lost, but is never half done") {
  bool saw_old = false, saw_new = false;
  for (std::uint64_t seed = 0; seed < 100; ++seed) {
    MemoryDisk disk;
    base::Prng prng(seed);
    REQUIRE(disk.create("meta").ok());
    REQUIRE(disk.append("meta", "old").ok());
    REQUIRE(disk.sync("meta").ok());
    REQUIRE(disk.sync_dir("").ok());
    REQUIRE(disk.create("meta.tmp").ok());
    REQUIRE(disk.append("meta.tmp", "new").ok());
    REQUIRE(disk.sync("meta.tmp").ok());
    REQUIRE(disk.rename("meta.tmp", "meta").ok());
    CHECK_FALSE(disk.exists("meta.tmp"));
    disk.crash(prng);
    REQUIRE(disk.exists("meta"));
    const std::string after = disk.contents("meta");
    CHECK((after == "old" || after == "new"));
    saw_old = saw_old || after == "old";
    saw_new = saw_new || after == "new";
    if (disk.exists("meta.tmp")) CHECK(disk.contents("meta.tmp") == "new");
  }
  CHECK(saw_old);
  CHECK(saw_new);
}

TEST_CASE("memory disk: an unsynced create or remove may be undone by a crash") {
  bool saw_created_lost = false, saw_remove_lost = false;
  for (std::uint64_t seed = 0; seed < 100; ++seed) {
    MemoryDisk disk;
    base::Prng prng(seed);
    REQUIRE(disk.create("snap/old").ok());
    REQUIRE(disk.sync_dir("snap").ok());
    REQUIRE(disk.create("snap/new").ok());
    REQUIRE(disk.remove("snap/old").ok());
    disk.crash(prng);
    saw_created_lost = saw_created_lost || !disk.exists("snap/new");
    saw_remove_lost = saw_remove_lost || disk.exists("snap/old");
    // Directory operations survive as a prefix: the remove never without the create.
    if (!disk.exists("snap/old")) CHECK(disk.exists("snap/new"));
  }
  CHECK(saw_created_lost);
  CHECK(saw_remove_lost);
}

TEST_CASE("memory disk: the same seed gives the same crash, byte for byte") {
  auto run = [](std::uint64_t seed) {
    MemoryDisk disk;
    base::Prng prng(seed);
    REQUIRE(disk.create("f").ok());
    REQUIRE(disk.sync_dir("").ok());
    for (int i = 0; i < 20; ++i) REQUIRE(disk.append("f", std::string(37, 'x')).ok());
    disk.crash(prng);
    return disk.contents("f");
  };
  CHECK(run(9) == run(9));
}

TEST_CASE("memory disk: corrupt flips one byte in the durable bytes too") {
  MemoryDisk disk;
  base::Prng prng(1);
  REQUIRE(disk.create("f").ok());
  REQUIRE(disk.append("f", "abc").ok());
  REQUIRE(disk.sync("f").ok());
  REQUIRE(disk.sync_dir("").ok());
  disk.corrupt("f", 1);
  CHECK(disk.contents("f")[1] == static_cast<char>(~'b'));
  disk.crash(prng);
  CHECK(disk.contents("f")[1] == static_cast<char>(~'b'));
  CHECK(disk.contents("f")[0] == 'a');
}

TEST_CASE("memory disk: an injected sync failure makes nothing durable") {
  MemoryDisk disk;
  base::Prng prng(5);
  REQUIRE(disk.create("f").ok());
  REQUIRE(disk.sync_dir("").ok());
  REQUIRE(disk.append("f", "abc").ok());
  disk.fail_next_syncs(1);
  CHECK(disk.sync("f").error == wal::Code::io_error);
  CHECK(disk.sync_count() == 0);
  CHECK(disk.sync("f").ok());
  CHECK(disk.sync_count() == 1);
}

TEST_CASE("memory disk: a sync job covers the appends before begin_sync, not the later ones") {
  bool later_lost_once = false;
  for (std::uint64_t seed = 0; seed < 200; ++seed) {
    CAPTURE(seed);
    MemoryDisk disk;
    base::Prng prng(seed);
    REQUIRE(disk.create("wal/a").ok());
    REQUIRE(disk.sync_dir("wal").ok());
    REQUIRE(disk.append("wal/a", "covered").ok());
    auto job = disk.begin_sync("wal/a");
    REQUIRE(job.ok());
    REQUIRE(disk.append("wal/a", "-later").ok());  // while the job "runs"
    REQUIRE(job.value()->run().ok());
    disk.crash(prng);
    const std::string after = read_all(disk, "wal/a");
    CHECK(after.starts_with("covered"));
    if (after == "covered") later_lost_once = true;
  }
  CHECK(later_lost_once);  // the job did not make "-later" durable
}

TEST_CASE("memory disk: a sync job after a full sync, or for a removed file, changes nothing") {
  MemoryDisk disk;
  REQUIRE(disk.create("wal/a").ok());
  REQUIRE(disk.append("wal/a", "x").ok());
  auto job = disk.begin_sync("wal/a");
  REQUIRE(job.ok());
  REQUIRE(disk.sync("wal/a").ok());
  REQUIRE(disk.append("wal/a", "y").ok());
  REQUIRE(job.value()->run().ok());  // already covered; "y" stays volatile
  CHECK(read_all(disk, "wal/a") == "xy");
  auto gone = disk.begin_sync("wal/a");
  REQUIRE(gone.ok());
  REQUIRE(disk.remove("wal/a").ok());
  REQUIRE(disk.sync_dir("wal").ok());
  CHECK(gone.value()->run().ok());
  CHECK(disk.begin_sync("wal/b").status().error == wal::Code::not_found);
}

TEST_CASE("memory disk: an injected sync failure fails the job") {
  MemoryDisk disk;
  REQUIRE(disk.create("wal/a").ok());
  REQUIRE(disk.append("wal/a", "x").ok());
  auto job = disk.begin_sync("wal/a");
  REQUIRE(job.ok());
  disk.fail_next_syncs(1);
  CHECK(job.value()->run().error == wal::Code::io_error);
}
