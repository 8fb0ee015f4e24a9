#include "protocol/error.h"

#include <doctest/doctest.h>

#include <set>
#include <string>

using namespace synod::protocol;

TEST_CASE("status: error values are stable numbers, shared with the wire") {
  // Renumbering any of these breaks every client; append, never reuse.
  CHECK(static_cast<int>(Error::OK) == 0);
  CHECK(static_cast<int>(Error::NO_NODE) == 1);
  CHECK(static_cast<int>(Error::NODE_EXISTS) == 2);
  CHECK(static_cast<int>(Error::BAD_VERSION) == 3);
  CHECK(static_cast<int>(Error::NOT_EMPTY) == 4);
  CHECK(static_cast<int>(Error::NO_CHILDREN_FOR_EPHEMERALS) == 5);
  CHECK(static_cast<int>(Error::BAD_ARGUMENTS) == 6);
  CHECK(static_cast<int>(Error::TOO_LARGE) == 7);
  CHECK(static_cast<int>(Error::FENCED) == 8);
  CHECK(static_cast<int>(Error::SESSION_EXPIRED) == 9);
  CHECK(static_cast<int>(Error::COMPACTED) == 10);
  CHECK(static_cast<int>(Error::NOT_LEADER) == 11);
  CHECK(static_cast<int>(Error::SESSION_MOVED) == 12);
  CHECK(static_cast<int>(Error::TIMEOUT) == 13);
  CHECK(static_cast<int>(Error::CONNECTION_LOSS) == 14);
  CHECK(static_cast<int>(Error::UNIMPLEMENTED) == 15);
  CHECK(static_cast<int>(Error::ROLLED_BACK) == 16);
  CHECK(static_cast<int>(Error::NOT_EXECUTED) == 17);
  CHECK(static_cast<int>(Error::CORRUPTED) == 18);
  CHECK(static_cast<int>(Error::LIMIT_EXCEEDED) == 19);
}

TEST_CASE("status: every error has its own name, and unknown values say so") {
  std::set<std::string_view> names;
  for (int v = 0; v <= static_cast<int>(error_last); ++v) {
    const std::string_view name = error_name(static_cast<Error>(v));
    CHECK(name != "UNKNOWN_ERROR");
    names.insert(name);
  }
  CHECK(names.size() == static_cast<std::size_t>(error_last) + 1);
  CHECK(error_name(Error::NO_NODE) == "NO_NODE");
  CHECK(error_name(static_cast<Error>(static_cast<int>(error_last) + 1)) == "UNKNOWN_ERROR");
}

TEST_CASE("status: a Result holds either a value or an error") {
  const Result<int> good = 7;
  REQUIRE(good.ok());
  CHECK(good.value() == 7);
  CHECK(good.error() == Error::OK);
  const Result<int> bad = error_status(Error::NO_NODE, "no node at /x");
  CHECK_FALSE(bad.ok());
  CHECK(bad.error() == Error::NO_NODE);
  CHECK(bad.status().message == "no node at /x");
}
