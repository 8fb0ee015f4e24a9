// DataDirLock keeps a second synodd off a data dir; check_data_dir refuses a
// --data-dir that cannot work, with a sentence naming it.
#include <doctest/doctest.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <optional>
#include <string>
#include <utility>

#include "server/runtime/posix_disk.h"
#include "tests/unit/runtime/temp_dir.h"

using namespace synod;
using runtime::DataDirLock;
using runtime::testing::TempDir;
using wal::Code;

namespace {

std::string in_use_by_me(const std::string& data_dir) {
  return "data dir " + data_dir + " is in use by another synodd (pid " +
         std::to_string(::getpid()) + ")";
}

}  // namespace

TEST_CASE("data dir lock: a second acquire fails with the holder's pid until the first is gone") {
  TempDir temp;
  const std::string data_dir = temp / "made/by/acquire";
  {
    auto first = DataDirLock::acquire(data_dir);
    REQUIRE(first.ok());
    CHECK(first.value().path() == data_dir + "/LOCK");
    std::ifstream lock_file(data_dir + "/LOCK");
    std::string pid;
    lock_file >> pid;
    CHECK(pid == std::to_string(::getpid()));

    // flock belongs to the open file description, so a second open in the
    // same process conflicts just as another process would.
    auto second = DataDirLock::acquire(data_dir);
    REQUIRE_FALSE(second.ok());
    CHECK(second.status().error == Code::io_error);
    CHECK(second.status().message == in_use_by_me(data_dir));
  }
  auto after = DataDirLock::acquire(data_dir);
  CHECK(after.ok());
}

TEST_CASE("data dir lock: moving the lock keeps it held; destroying the new owner releases it") {
  TempDir temp;
  std::optional<DataDirLock> holder;
  {
    auto acquired = DataDirLock::acquire(temp.path());
    REQUIRE(acquired.ok());
    DataDirLock moved = std::move(acquired).value();
    holder.emplace(std::move(moved));
  }
  CHECK(DataDirLock::acquire(temp.path()).status().message == in_use_by_me(temp.path()));
  holder.reset();
  CHECK(DataDirLock::acquire(temp.path()).ok());
}

TEST_CASE("data dir lock: another process is refused while this one holds the lock") {
  TempDir temp;
  auto held = DataDirLock::acquire(temp.path());
  REQUIRE(held.ok());
  const std::string expected = in_use_by_me(temp.path());  // the parent's pid
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    auto attempt = DataDirLock::acquire(temp.path());
    ::_exit(attempt.ok() ? 1 : attempt.status().message == expected ? 0 : 2);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("check_data_dir: a missing dir is created, an existing one passes") {
  TempDir temp;
  const std::string data_dir = temp / "a/b/c";
  CHECK(runtime::check_data_dir(data_dir).ok());
  struct stat st {};
  REQUIRE(::stat(data_dir.c_str(), &st) == 0);
  CHECK(S_ISDIR(st.st_mode));
  CHECK(runtime::check_data_dir(data_dir).ok());
}

TEST_CASE("check_data_dir: a file, or a path through a file, is refused with a sentence") {
  TempDir temp;
  const std::string file = temp / "plain-file";
  std::ofstream(file).put('x');
  const auto on_file = runtime::check_data_dir(file);
  CHECK(on_file.error == Code::io_error);
  CHECK(on_file.message == "data dir " + file + " is not a directory");

  const auto through_file = runtime::check_data_dir(file + "/sub");
  CHECK(through_file.error == Code::io_error);
  CHECK(through_file.message ==
        "data dir " + file + "/sub cannot be created: mkdir " + file + ": Not a directory");
  CHECK(runtime::check_data_dir("").message == "the data dir path is empty");
}

TEST_CASE("check_data_dir: an unwritable dir is refused") {
  if (::geteuid() == 0) {
    MESSAGE("skipped: running as root, and chmod cannot make a directory unwritable for root");
    return;
  }
  TempDir temp;
  const std::string data_dir = temp / "read-only";
  REQUIRE(::mkdir(data_dir.c_str(), 0555) == 0);
  const auto status = runtime::check_data_dir(data_dir);
  CHECK(status.error == Code::io_error);
  CHECK(status.message == "data dir " + data_dir + " is not writable: Permission denied");
}
