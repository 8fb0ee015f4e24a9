// PosixDisk against MemoryDisk (STYLE.md habit 14: the real thing against
// a dumb model): the same random sequences of Disk calls on both must give
// the same observable results — listings, sizes, bytes read and error codes
// (codes, not messages: PosixDisk's messages carry paths and OS reasons).
#include <doctest/doctest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/prng.h"
#include "server/runtime/posix_disk.h"
#include "server/wal/memory_disk.h"
#include "tests/unit/runtime/temp_dir.h"

using namespace synod;
using runtime::PosixDisk;
using runtime::testing::TempDir;
using wal::Disk;
using wal::MemoryDisk;

namespace {

// "wal" gets more names than PosixDisk's default descriptor cache holds, so
// eviction is exercised; "other" is never created (a missing dir).
const std::vector<std::string> dirs = {"", "wal", "snap", "other"};

std::vector<std::string> all_names() {
  std::vector<std::string> names = {"meta", "meta.tmp", "x", "snap/1.snap", "snap/1.snap.tmp",
                                    "snap/2.snap"};
  for (int i = 0; i < 18; ++i) {
    names.push_back("wal/" + std::string(i < 10 ? "0" : "") + std::to_string(i) + ".log");
  }
  return names;
}

std::string outcome(const wal::Status& status) { return wal::to_string(status.error); }

template <class T>
std::string outcome(const wal::Result<T>& result) {
  if (!result.ok()) return wal::to_string(result.status().error);
  if constexpr (std::is_same_v<T, std::uint64_t>) {
    return "ok " + std::to_string(result.value());
  } else if constexpr (std::is_same_v<T, std::string>) {
    return "ok " + result.value();
  } else {
    std::string joined = "ok";
    for (const auto& name : result.value()) joined += " " + name;
    return joined;
  }
}

const std::string& pick(base::Prng& prng, const std::vector<std::string>& items) {
  return items[static_cast<std::size_t>(prng.below(items.size()))];
}

std::string random_bytes(base::Prng& prng, std::uint64_t count) {
  std::string bytes;
  for (std::uint64_t i = 0; i < count; ++i) bytes.push_back(static_cast<char>(prng.below(256)));
  return bytes;
}

// One random Disk call, described, and run on `disk`. `model` decides the
// arguments (a truncate length must not exceed the current size), and its
// decisions come only from the prng, so both disks see the same call.
struct Call {
  std::string what;
  std::string (*run)(Disk&, const Call&) = nullptr;
  std::string name;
  std::string other;
  std::uint64_t a = 0;
  std::uint64_t b = 0;
  std::string bytes;
};

Call random_call(base::Prng& prng, MemoryDisk& model, const std::vector<std::string>& names) {
  Call call;
  call.name = pick(prng, names);
  const std::uint64_t kind = prng.below(100);
  const bool exists = model.exists(call.name);
  const std::uint64_t size = exists ? model.contents(call.name).size() : 0;
  if (kind < 8) {
    call.name = pick(prng, dirs);
    call.what = "list(" + call.name + ")";
    call.run = [](Disk& d, const Call& c) { return outcome(d.list(c.name)); };
  } else if (kind < 16) {
    call.what = "size(" + call.name + ")";
    call.run = [](Disk& d, const Call& c) { return outcome(d.size(c.name)); };
  } else if (kind < 28) {
    call.a = prng.below(size + 10);
    call.b = prng.chance(1, 10) ? UINT64_MAX : prng.below(size + 10);
    call.what = "read(" + call.name + ", " + std::to_string(call.a) + ", " +
                std::to_string(call.b) + ")";
    call.run = [](Disk& d, const Call& c) { return outcome(d.read(c.name, c.a, c.b)); };
  } else if (kind < 40) {
    call.what = "create(" + call.name + ")";
    call.run = [](Disk& d, const Call& c) { return outcome(d.create(c.name)); };
  } else if (kind < 62) {
    call.bytes = random_bytes(prng, prng.chance(1, 10) ? 0 : prng.below(200));
    call.what = "append(" + call.name + ", " + std::to_string(call.bytes.size()) + " bytes)";
    call.run = [](Disk& d, const Call& c) { return outcome(d.append(c.name, c.bytes)); };
  } else if (kind < 70) {
    call.a = prng.below(size + 1);
    call.what = "truncate(" + call.name + ", " + std::to_string(call.a) + ")";
    call.run = [](Disk& d, const Call& c) { return outcome(d.truncate(c.name, c.a)); };
  } else if (kind < 78) {
    call.what = "sync(" + call.name + ")";
    call.run = [](Disk& d, const Call& c) { return outcome(d.sync(c.name)); };
  } else if (kind < 86) {
    // Another name in the same directory.
    std::vector<std::string> siblings;
    for (const auto& candidate : names) {
      if (candidate != call.name && wal::dir_of(candidate) == wal::dir_of(call.name)) {
        siblings.push_back(candidate);
      }
    }
    call.other = pick(prng, siblings);
    call.what = "rename(" + call.name + ", " + call.other + ")";
    call.run = [](Disk& d, const Call& c) { return outcome(d.rename(c.name, c.other)); };
  } else if (kind < 93) {
    call.what = "remove(" + call.name + ")";
    call.run = [](Disk& d, const Call& c) { return outcome(d.remove(c.name)); };
  } else if (kind < 96) {
    call.name = pick(prng, dirs);
    call.what = "sync_dir(" + call.name + ")";
    call.run = [](Disk& d, const Call& c) { return outcome(d.sync_dir(c.name)); };
  } else if (kind < 98) {
    call.name = pick(prng, dirs);
    call.what = "begin_sync_dir(" + call.name + ") then run";
    call.run = [](Disk& d, const Call& c) {
      auto job = d.begin_sync_dir(c.name);
      return job.ok() ? outcome(job.value()->run()) : outcome(job.status());
    };
  } else {
    call.bytes = random_bytes(prng, prng.below(300));
    call.what = "begin_replace(" + call.name + ", " + std::to_string(call.bytes.size()) +
                " bytes) then run";
    call.run = [](Disk& d, const Call& c) {
      auto job = d.begin_replace(c.name, c.bytes);
      return job.ok() ? outcome(job.value()->run()) : outcome(job.status());
    };
  }
  return call;
}

// Everything a caller can observe: every listing, and every name's size and
// whole contents (or its error code).
std::string observe(Disk& disk, const std::vector<std::string>& names) {
  std::string seen;
  for (const auto& dir : dirs) seen += "list(" + dir + ") = " + outcome(disk.list(dir)) + "\n";
  for (const auto& name : names) {
    seen += name + ": " + outcome(disk.size(name)) + " / " +
            outcome(disk.read(name, 0, UINT64_MAX)) + "\n";
  }
  return seen;
}

}  // namespace

TEST_CASE("posix disk conformance: random call sequences agree with MemoryDisk") {
  TempDir temp;
  const std::vector<std::string> names = all_names();
  constexpr std::uint64_t sequences = 300;
  constexpr int calls_per_sequence = 80;
  for (std::uint64_t seed = 1; seed <= sequences; ++seed) {
    CAPTURE(seed);
    base::Prng prng(seed);
    const std::string data_dir = temp / ("seq-" + std::to_string(seed));
    // Some sequences get a tiny descriptor cache, so eviction is constant.
    const auto open_files_max = static_cast<std::size_t>(prng.chance(1, 3) ? 1 + prng.below(3)
                                                                              : 16);
    MemoryDisk model;
    auto real = std::make_unique<PosixDisk>(data_dir, open_files_max);
    for (int step = 0; step < calls_per_sequence; ++step) {
      const Call call = random_call(prng, model, names);
      CAPTURE(step);
      CAPTURE(call.what);
      const std::string expected = call.run(model, call);
      const std::string actual = call.run(*real, call);
      REQUIRE(actual == expected);
      REQUIRE(real->open_file_count() <= open_files_max);
      // Now and then the process "restarts" (no crash): a new PosixDisk with
      // an empty descriptor cache must go on exactly where the old one was.
      if (prng.chance(1, 40)) real = std::make_unique<PosixDisk>(data_dir, open_files_max);
    }
    const std::string expected = observe(model, names);
    REQUIRE(observe(*real, names) == expected);
    // A new PosixDisk on the same dir (no crash: the kernel keeps even
    // unsynced bytes) sees the same.
    real = std::make_unique<PosixDisk>(data_dir);
    REQUIRE(observe(*real, names) == expected);
  }
}
