#include <doctest/doctest.h>

#include <string>

#include "base/crc32c.h"
#include "base/little_endian.h"
#include "server/store/store.h"
#include "store_fixture.h"

using namespace synod;
using namespace synod::store;
using synod::store::testing::delete_op;
using synod::store::testing::Fixture;
using synod::store::testing::path;

namespace {

// A store with every kind of node and two sessions.
Fixture populated() {
  Fixture f;
  const SessionId a = f.open_session(4000);
  const SessionId b = f.open_session(9000);
  f.create(a, "/app");
  f.create(a, "/app/lock-", NodeKind::ephemeral, true);
  f.create(b, "/app/lock-", NodeKind::ephemeral, true);
  f.create(a, "/app/c", NodeKind::container);
  f.create(a, "/app/c/x");
  f.create(a, "/ttl", NodeKind::ttl, false, 500);
  REQUIRE(f.error_of(a, SetOp{path("/app"), std::string("\0bin\xff", 5), std::nullopt}) ==
          Error::OK);
  return f;
}

void put_crc(std::string& bytes) {
  const std::uint32_t crc = base::crc32c(std::string_view(bytes).substr(0, bytes.size() - 4));
  base::store_le(reinterpret_cast<unsigned char*>(bytes.data()) + bytes.size() - 4, crc);
}

}  // namespace

TEST_CASE("snapshot: a loaded snapshot has the same digest, reads and bytes") {
  Fixture f = populated();
  const std::string bytes = f.store.serialize_snapshot();
  Store loaded;
  REQUIRE(loaded.load_snapshot(bytes).ok());
  CHECK(loaded.digest() == f.store.digest());
  CHECK(loaded.serialize_snapshot() == bytes);
  CHECK(loaded.applied_zxid() == f.store.applied_zxid());
  CHECK(loaded.sessions() == f.store.sessions());
  CHECK(loaded.node_count() == f.store.node_count());
  CHECK(loaded.get(path("/app")).value().data == f.store.get(path("/app")).value().data);
  CHECK(loaded.exists(path("/app/lock-0000000001")).value() ==
        f.store.exists(path("/app/lock-0000000001")).value());
  CHECK(loaded.ephemerals(SessionId{2}).value() == f.store.ephemerals(SessionId{2}).value());
  CHECK(loaded.expired_ttl_nodes(1'000'000, 10).size() == 1);
  // Both continue identically: deleting the container's child removes it.
  for (Store* s : {&f.store, &loaded}) {
    const ApplyResult r =
        s->apply(Zxid{100}, 5000, WriteCommand{SessionId{1}, std::nullopt, delete_op("/app/c/x")});
    CHECK(r.events.size() == 4);
  }
  CHECK(loaded.digest() == f.store.digest());
}

TEST_CASE("snapshot: every flipped byte is rejected as CORRUPTED and leaves the store unchanged") {
  const std::string bytes = populated().store.serialize_snapshot();
  Fixture target;
  target.create(target.open_session(), "/keep");
  const std::uint64_t before = target.store.digest();
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    std::string damaged = bytes;
    damaged[i] = static_cast<char>(damaged[i] ^ 0x20);
    const Status status = target.store.load_snapshot(damaged);
    CAPTURE(i);
    REQUIRE(status.error == Error::CORRUPTED);
    CHECK_FALSE(status.message.empty());
  }
  CHECK(target.store.digest() == before);
  CHECK(target.store.load_snapshot(bytes.substr(0, bytes.size() - 1)).error == Error::CORRUPTED);
  CHECK(target.store.load_snapshot("").error == Error::CORRUPTED);
}

TEST_CASE("snapshot: an unknown version and a structurally bad body are rejected with the reason") {
  const std::string empty = Store().serialize_snapshot();
  std::string version = empty;
  version[4] = 4;
  put_crc(version);
  Store store;
  CHECK(store.load_snapshot(version).message.find("version 4") != std::string::npos);
  // Root record: magic 4, version 1, applied 8, leadership 12, sessions 8, nodes 8, name 4,
  // children 4.
  std::string kind = empty;
  kind[49] = 9;
  put_crc(kind);
  const Status bad_kind = store.load_snapshot(kind);
  CHECK(bad_kind.error == Error::CORRUPTED);
  CHECK(bad_kind.message.find("unknown node kind") != std::string::npos);
  std::string trailing = empty.substr(0, empty.size() - 4) + "x" + empty.substr(empty.size() - 4);
  put_crc(trailing);
  CHECK(store.load_snapshot(trailing).message.find("trailing bytes") != std::string::npos);
  CHECK(store.load_snapshot(empty).ok());
}

TEST_CASE("snapshot: a session's secret is kept, in the digest, and survives a round trip") {
  Fixture f;
  const SessionSecret secret{0x0123456789abcdefull, 0xfedcba9876543210ull};
  const SessionId a = f.open_session(4000, secret);
  const SessionId b = f.open_session(4000, SessionSecret{1, 2});
  CHECK(f.store.session_secret(a) == secret);
  CHECK(f.store.session_secret(b) == SessionSecret{1, 2});
  CHECK_FALSE(f.store.session_secret(SessionId{99}).has_value());
  Fixture other;
  other.open_session(4000, SessionSecret{0x0123456789abcdefull, 0});
  other.open_session(4000, SessionSecret{1, 2});
  CHECK(other.store.digest() != f.store.digest());  // the secret is state
  const std::string bytes = f.store.serialize_snapshot();
  CHECK(bytes.size() == f.store.snapshot_bytes());
  Store loaded;
  REQUIRE(loaded.load_snapshot(bytes).ok());
  CHECK(loaded.session_secret(a) == secret);
  CHECK(loaded.sessions() == f.store.sessions());
  CHECK(loaded.digest() == f.store.digest());
}

TEST_CASE("snapshot: a version 2 snapshot (no secrets) still loads, its sessions' secrets 0") {
  Fixture f;
  const SessionId a = f.open_session(4000, SessionSecret{7, 8});
  const SessionId b = f.open_session(9000, SessionSecret{9, 10});
  f.create(a, "/e", NodeKind::ephemeral);
  const std::string v3 = f.store.serialize_snapshot();
  // Version 2 is version 3 without the leadership (12 bytes after applied)
  // and without the two secret words of each session record (id, timeout,
  // last_sequence, secret_high, secret_low).
  constexpr std::size_t applied_end = 4 + 1 + 8;
  constexpr std::size_t sessions_at = applied_end + 12 + 8;
  constexpr std::size_t record = 40;
  std::string v2 = v3.substr(0, applied_end) + v3.substr(applied_end + 12, 8);
  v2[4] = 2;
  for (std::size_t i = 0; i < 2; ++i) v2 += v3.substr(sessions_at + i * record, 24);
  v2 += v3.substr(sessions_at + 2 * record);
  put_crc(v2);
  Store loaded;
  REQUIRE(loaded.load_snapshot(v2).ok());
  CHECK(loaded.session_secret(a) == SessionSecret{});
  CHECK(loaded.session_secret(b) == SessionSecret{});
  CHECK(loaded.sessions().at(1).timeout_ms == 9000);
  CHECK(loaded.ephemerals(a).value() == std::vector<std::string>{"/e"});
  CHECK(loaded.serialize_snapshot().size() == loaded.snapshot_bytes());
}
