// TempDir: a fresh directory under /tmp for one test, removed with
// everything in it when the TempDir goes out of scope.
#pragma once

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include <doctest/doctest.h>

namespace synod::runtime::testing {

class TempDir {
 public:
  TempDir() {
    std::string pattern = "/tmp/synod-unit-runtime-XXXXXX";
    const char* made = ::mkdtemp(pattern.data());
    REQUIRE_MESSAGE(made != nullptr, "mkdtemp failed");
    path_ = made;
  }
  ~TempDir() {
    std::error_code ignored;
    // A test may have made something read-only; give everything back first.
    ::chmod(path_.c_str(), 0755);
    for (const auto& entry : std::filesystem::recursive_directory_iterator(path_, ignored)) {
      if (entry.is_directory(ignored)) ::chmod(entry.path().c_str(), 0755);
    }
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  [[nodiscard]] const std::string& path() const { return path_; }
  // path/relative
  [[nodiscard]] std::string operator/(const std::string& relative) const {
    return path_ + "/" + relative;
  }

 private:
  std::string path_;
};

}  // namespace synod::runtime::testing
