// A store driven one entry at a time, for the focused tests.
#pragma once

#include <doctest/doctest.h>

#include <string>

#include "server/store/store.h"

namespace synod::store::testing {

inline Path path(const std::string& text) {
  Result<Path> parsed = Path::parse(text);
  REQUIRE(parsed.ok());
  return std::move(parsed).value();
}

inline CreateOp create_op(const std::string& text) {
  return CreateOp{path(text), "", NodeKind::persistent, false, 0, MissingParents::fail};
}
inline DeleteOp delete_op(const std::string& text) { return DeleteOp{path(text), std::nullopt}; }
inline CheckOp check_op(const std::string& text) { return CheckOp{path(text), std::nullopt}; }

struct Fixture {
  explicit Fixture(StoreConfig config = {}) : store(config) {}

  ApplyResult run(const Command& command) { return store.apply(Zxid{++slot}, now_ms, command); }

  SessionId open_session(std::int64_t timeout_ms = 5000, SessionSecret secret = {}) {
    const ApplyResult result = run(OpenSessionCommand{timeout_ms, secret});
    REQUIRE(result.response.status.ok());
    return result.response.session;
  }

  ApplyResult write(SessionId session, Op op, std::optional<Fence> fence = std::nullopt) {
    return run(WriteCommand{session, std::move(fence), std::move(op)});
  }

  // Creates and requires success; returns the created path.
  std::string create(SessionId session, const std::string& text,
                     NodeKind kind = NodeKind::persistent, bool sequential = false,
                     std::int64_t ttl_ms = 0) {
    CreateOp op{path(text), "d", kind, sequential, ttl_ms, MissingParents::fail};
    const ApplyResult result = write(session, op);
    REQUIRE(result.response.status.ok());
    return result.response.ops.at(0).path;
  }

  Error error_of(SessionId session, Op op) {
    const ApplyResult result = write(session, std::move(op));
    return result.response.status.error;
  }

  Stat stat(const std::string& text) const {
    const Result<Stat> result = store.exists(path(text));
    REQUIRE(result.ok());
    return result.value();
  }

  bool exists(const std::string& text) const { return store.exists(path(text)).ok(); }

  Store store;
  std::uint64_t slot = 0;
  std::int64_t now_ms = 1000;
};

}  // namespace synod::store::testing
