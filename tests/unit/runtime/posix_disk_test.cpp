// PosixDisk on real files: names map under data_dir, errors are sentences
// naming the path, the descriptor cache stays bounded, and what one
// PosixDisk writes the next one reads.
#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <thread>
#include <string>
#include <vector>

#include "server/runtime/posix_disk.h"
#include "tests/unit/runtime/temp_dir.h"

using namespace synod;
using runtime::PosixDisk;
using runtime::testing::TempDir;
using wal::Code;

namespace {

bool is_directory(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

TEST_CASE("posix disk: names map under data_dir and create makes the directories") {
  TempDir temp;
  const std::string data_dir = temp / "data/nested";
  PosixDisk disk(data_dir);
  CHECK(disk.path_of("meta") == data_dir + "/meta");
  CHECK(disk.path_of("wal/x.log") == data_dir + "/wal/x.log");
  CHECK(disk.path_of("") == data_dir);

  REQUIRE(disk.create("wal/x.log").ok());
  CHECK(is_directory(data_dir + "/wal"));
  REQUIRE(disk.append("wal/x.log", "hello ").ok());
  REQUIRE(disk.append("wal/x.log", "world").ok());
  REQUIRE(disk.sync("wal/x.log").ok());
  REQUIRE(disk.sync_dir("wal").ok());
  CHECK(file_bytes(data_dir + "/wal/x.log") == "hello world");
  CHECK(disk.size("wal/x.log").value() == 11);
  CHECK(disk.read("wal/x.log", 6, 100).value() == "world");
  CHECK(disk.read("wal/x.log", 11, 5).value().empty());
  CHECK(disk.read("wal/x.log", 400, 5).value().empty());
  // A huge length is clamped to the file, never allocated.
  CHECK(disk.read("wal/x.log", 0, UINT64_MAX).value() == "hello world");
  CHECK(wal::read_whole(disk, "wal/x.log").value() == "hello world");

  REQUIRE(disk.truncate("wal/x.log", 5).ok());
  CHECK(file_bytes(data_dir + "/wal/x.log") == "hello");
  REQUIRE(disk.create("wal/x.log").ok());  // an existing file is emptied
  CHECK(disk.size("wal/x.log").value() == 0);
}

TEST_CASE("posix disk: a missing file is not_found and the message names the path") {
  TempDir temp;
  PosixDisk disk(temp.path());
  const std::string missing = temp / "wal/none.log";
  for (const auto& status :
       {disk.size("wal/none.log").status(), disk.read("wal/none.log", 0, 1).status(),
        disk.append("wal/none.log", "x"), disk.truncate("wal/none.log", 0),
        disk.sync("wal/none.log"), disk.remove("wal/none.log"),
        disk.rename("wal/none.log", "wal/other.log")}) {
    CAPTURE(status.message);
    CHECK(status.error == Code::not_found);
    CHECK(status.message.find(missing) != std::string::npos);
    CHECK(status.message.find("No such file or directory") != std::string::npos);
  }
  CHECK(disk.size("meta").status().message ==
        "open " + temp.path() + "/meta: No such file or directory");
}

TEST_CASE("posix disk: a missing dir lists empty and syncs as a no-op") {
  TempDir temp;
  PosixDisk disk(temp / "not-yet");
  auto listed = disk.list("wal");
  REQUIRE(listed.ok());
  CHECK(listed.value().empty());
  CHECK(disk.list("").value().empty());
  CHECK(disk.sync_dir("wal").ok());
  CHECK(disk.sync_dir("").ok());
}

TEST_CASE("posix disk: list is sorted and holds only the dir's Disk files") {
  TempDir temp;
  PosixDisk disk(temp.path());
  for (const char* name : {"wal/b", "wal/a", "wal/c.tmp", "meta", "wal/0"}) {
    REQUIRE(disk.create(name).ok());
  }
  // Not Disk files: a subdirectory, and names outside [a-z0-9._-].
  REQUIRE(::mkdir((temp / "wal/sub").c_str(), 0755) == 0);
  std::ofstream(temp / "wal/UPPER").put('x');
  std::ofstream(temp / "LOCK").put('x');
  CHECK(disk.list("wal").value() == std::vector<std::string>{"0", "a", "b", "c.tmp"});
  CHECK(disk.list("").value() == std::vector<std::string>{"meta"});
}

TEST_CASE("posix disk: other failures are io_error sentences naming the operation and path") {
  TempDir temp;
  std::ofstream(temp / "wal").put('x');  // a file where the wal dir should be
  PosixDisk disk(temp.path());
  const auto created = disk.create("wal/x.log");
  CHECK(created.error == Code::io_error);
  CHECK(created.message.starts_with("create " + temp.path() + "/wal/x.log: "));
  const auto listed = disk.list("wal");
  CHECK(listed.status().error == Code::io_error);
  CHECK(listed.status().message == "opendir " + temp.path() + "/wal: Not a directory");
}

TEST_CASE("posix disk: the descriptor cache is bounded and eviction loses nothing") {
  TempDir temp;
  PosixDisk disk(temp.path(), 3);
  std::vector<std::string> names;
  for (int i = 0; i < 10; ++i) names.push_back("wal/" + std::to_string(i) + ".log");
  for (const auto& name : names) REQUIRE(disk.create(name).ok());
  CHECK(disk.open_file_count() == 3);
  for (int round = 0; round < 5; ++round) {
    for (const auto& name : names) {
      REQUIRE(disk.append(name, name + ";").ok());
      CHECK(disk.open_file_count() <= 3);
    }
  }
  for (const auto& name : names) REQUIRE(disk.sync(name).ok());
  REQUIRE(disk.sync_dir("wal").ok());
  for (const auto& name : names) {
    std::string expected;
    for (int round = 0; round < 5; ++round) expected += name + ";";
    CHECK(file_bytes(temp / name) == expected);
  }
  // rename and remove drop the descriptors of both names.
  REQUIRE(disk.rename("wal/0.log", "wal/1.log").ok());
  REQUIRE(disk.append("wal/1.log", "more").ok());
  CHECK(file_bytes(temp / "wal/1.log") == "wal/0.log;wal/0.log;wal/0.log;wal/0.log;wal/0.log;more");
  REQUIRE(disk.remove("wal/1.log").ok());
  CHECK(disk.size("wal/1.log").status().error == Code::not_found);
  CHECK(disk.append("wal/1.log", "x").error == Code::not_found);
}

TEST_CASE("posix disk: what one PosixDisk synced the next one on the same dir reads") {
  TempDir temp;
  {
    PosixDisk disk(temp.path());
    REQUIRE(disk.create("snap/a.tmp").ok());
    REQUIRE(disk.append("snap/a.tmp", "snapshot bytes").ok());
    REQUIRE(disk.sync("snap/a.tmp").ok());
    REQUIRE(disk.rename("snap/a.tmp", "snap/a").ok());
    REQUIRE(disk.sync_dir("snap").ok());
  }
  PosixDisk again(temp.path());
  CHECK(again.list("snap").value() == std::vector<std::string>{"a"});
  CHECK(wal::read_whole(again, "snap/a").value() == "snapshot bytes");
}

TEST_CASE("posix disk: a sync job runs on another thread while the owner appends and renames") {
  TempDir dir;
  PosixDisk disk(dir.path());
  REQUIRE(disk.create("wal/a").ok());
  REQUIRE(disk.append("wal/a", "before").ok());
  auto job = disk.begin_sync("wal/a");
  REQUIRE(job.ok());
  wal::Status ran;
  std::thread fsync_thread([&] { ran = job.value()->run(); });
  for (int i = 0; i < 100; ++i) REQUIRE(disk.append("wal/a", "+").ok());
  REQUIRE(disk.rename("wal/a", "wal/b").ok());  // closes the cached descriptor
  fsync_thread.join();
  CHECK(ran.ok());
  CHECK(file_bytes(dir.path() + "/wal/b") == "before" + std::string(100, '+'));
  CHECK(disk.begin_sync("wal/a").status().error == Code::not_found);
}
