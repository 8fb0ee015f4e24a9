// Focused tests, one rule each. The randomised agreement with the model is
// in model_test.cpp.
#include "server/store/store.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "store_fixture.h"

using namespace synod;
using namespace synod::store;
using synod::store::testing::check_op;
using synod::store::testing::create_op;
using synod::store::testing::delete_op;
using synod::store::testing::Fixture;
using synod::store::testing::path;

namespace {

Event event(EventType type, std::string p, std::uint64_t zxid) {
  return Event{type, std::move(p), Zxid{zxid}};
}

}  // namespace

TEST_CASE("store: a create sets the ZooKeeper stat and bumps the parent's cversion and pzxid") {
  Fixture f;
  const SessionId s = f.open_session();
  f.now_ms = 2000;
  const ApplyResult result = f.write(
      s, CreateOp{path("/a"), "hello", NodeKind::persistent, false, 0, MissingParents::fail});
  REQUIRE(result.response.status.ok());
  const Stat st = result.response.ops.at(0).stat.value();
  CHECK(st.czxid == Zxid{2});
  CHECK(st.mzxid == Zxid{2});
  CHECK(st.pzxid == Zxid{2});
  CHECK(st.ctime_ms == 2000);
  CHECK(st.mtime_ms == 2000);
  CHECK(st.version == 0);
  CHECK(st.cversion == 0);
  CHECK(st.ephemeral_owner == SessionId{0});
  CHECK(st.num_children == 0);
  CHECK(st.data_length == 5);
  CHECK(f.stat("/a") == st);
  const Stat root = f.stat("/");
  CHECK(root.cversion == 1);
  CHECK(root.pzxid == Zxid{2});
  CHECK(root.num_children == 1);
  CHECK(result.events == std::vector<Event>{event(EventType::created, "/a", 2),
                                            event(EventType::children_changed, "/", 2)});
  CHECK(f.store.get(path("/a")).value().data == "hello");
}

TEST_CASE(
    "store: a set bumps version, mzxid and mtime but not czxid; with a version it is conditional") {
  Fixture f;
  const SessionId s = f.open_session();
  f.create(s, "/a");
  f.now_ms = 3000;
  CHECK(f.error_of(s, SetOp{path("/a"), "x", 1}) == Error::BAD_VERSION);
  const ApplyResult result = f.write(s, SetOp{path("/a"), "xyz", 0});
  REQUIRE(result.response.status.ok());
  const Stat st = f.stat("/a");
  CHECK(result.response.ops.at(0).stat == st);
  CHECK(st.version == 1);
  CHECK(st.czxid == Zxid{2});
  CHECK(st.mzxid == Zxid{4});
  CHECK(st.mtime_ms == 3000);
  CHECK(st.ctime_ms == 1000);
  CHECK(st.data_length == 3);
  CHECK(result.events == std::vector<Event>{event(EventType::data_changed, "/a", 4)});
  CHECK(f.error_of(s, SetOp{path("/a"), "y", std::nullopt}) == Error::OK);
  CHECK(f.stat("/a").version == 2);
  CHECK(f.error_of(s, SetOp{path("/nope"), "y", std::nullopt}) == Error::NO_NODE);
}

TEST_CASE("store: a delete needs the node, the expected version and no children") {
  Fixture f;
  const SessionId s = f.open_session();
  f.create(s, "/a");
  f.create(s, "/a/b");
  CHECK(f.error_of(s, DeleteOp{path("/a"), std::nullopt}) == Error::NOT_EMPTY);
  CHECK(f.error_of(s, DeleteOp{path("/a/b"), 3}) == Error::BAD_VERSION);
  CHECK(f.error_of(s, DeleteOp{path("/zz"), std::nullopt}) == Error::NO_NODE);
  CHECK(f.error_of(s, DeleteOp{path("/"), std::nullopt}) == Error::BAD_ARGUMENTS);
  const ApplyResult result = f.write(s, DeleteOp{path("/a/b"), 0});
  REQUIRE(result.response.status.ok());
  CHECK(result.events == std::vector<Event>{event(EventType::deleted, "/a/b", f.slot),
                                            event(EventType::children_changed, "/a", f.slot)});
  CHECK_FALSE(f.exists("/a/b"));
  CHECK(f.stat("/a").cversion == 2);
  CHECK(f.stat("/a").pzxid == Zxid{f.slot});
}

TEST_CASE("store: a create fails on an existing node, a missing parent, the root and bad flags") {
  Fixture f;
  const SessionId s = f.open_session();
  f.create(s, "/a");
  CHECK(f.error_of(s, create_op("/a")) == Error::NODE_EXISTS);
  CHECK(f.error_of(s, create_op("/x/y")) == Error::NO_NODE);
  CHECK(f.error_of(s, create_op("/")) == Error::BAD_ARGUMENTS);
  CHECK(f.error_of(s, CreateOp{path("/c"), "", NodeKind::container, true, 0,
                               MissingParents::fail}) == Error::BAD_ARGUMENTS);
  CHECK(f.error_of(s, CreateOp{path("/t"), "", NodeKind::ttl, false, 0, MissingParents::fail}) ==
        Error::BAD_ARGUMENTS);
  CHECK(f.error_of(s, CreateOp{path("/t"), "", NodeKind::ttl, false, ttl_ms_max + 1,
                               MissingParents::fail}) == Error::BAD_ARGUMENTS);
  CHECK(f.error_of(s, CreateOp{path("/p"), "", NodeKind::persistent, false, 5,
                               MissingParents::fail}) == Error::BAD_ARGUMENTS);
  CHECK(f.store.node_count() == 2);
}

TEST_CASE("store: data above data_bytes_max is TOO_LARGE; the limit is configurable") {
  StoreConfig config;
  config.data_bytes_max = 8;
  Fixture f(config);
  const SessionId s = f.open_session();
  CHECK(f.error_of(s, CreateOp{path("/a"), std::string(8, 'x'), NodeKind::persistent, false, 0,
                               MissingParents::fail}) == Error::OK);
  CHECK(f.error_of(s, CreateOp{path("/b"), std::string(9, 'x'), NodeKind::persistent, false, 0,
                               MissingParents::fail}) == Error::TOO_LARGE);
  CHECK(f.error_of(s, SetOp{path("/a"), std::string(9, 'x'), std::nullopt}) == Error::TOO_LARGE);
  Fixture defaults;
  const SessionId d = defaults.open_session();
  CHECK(defaults.error_of(d, CreateOp{path("/a"), std::string(data_bytes_max_default, 'x'),
                                      NodeKind::persistent, false, 0, MissingParents::fail}) ==
        Error::OK);
  CHECK(defaults.error_of(d, CreateOp{path("/b"), std::string(data_bytes_max_default + 1, 'x'),
                                      NodeKind::persistent, false, 0, MissingParents::fail}) ==
        Error::TOO_LARGE);
}

TEST_CASE("store: a sequential create appends the parent's counter as %010d") {
  Fixture f;
  const SessionId s = f.open_session();
  f.create(s, "/q");
  CHECK(f.create(s, "/q/n-", NodeKind::persistent, true) == "/q/n-0000000000");
  CHECK(f.create(s, "/q/n-", NodeKind::ephemeral, true) == "/q/n-0000000001");
  CHECK(f.error_of(s, DeleteOp{path("/q/n-0000000000"), std::nullopt}) == Error::OK);
  // The counter is the parent's cversion, which deletes bump too (ZooKeeper).
  CHECK(f.create(s, "/q/n-", NodeKind::persistent, true) == "/q/n-0000000003");
  CHECK(f.create(s, "/q/x", NodeKind::ttl, true, 50) == "/q/x0000000004");
}

TEST_CASE("store: an ephemeral belongs to the issuing session and cannot have children") {
  Fixture f;
  const SessionId s = f.open_session();
  f.create(s, "/e", NodeKind::ephemeral);
  CHECK(f.stat("/e").ephemeral_owner == s);
  CHECK(f.store.get(path("/e")).value().kind == NodeKind::ephemeral);
  CHECK(f.error_of(s, create_op("/e/c")) == Error::NO_CHILDREN_FOR_EPHEMERALS);
  CHECK(f.error_of(s, CreateOp{path("/e/c/d"), "", NodeKind::persistent, false, 0,
                               MissingParents::create_persistent}) ==
        Error::NO_CHILDREN_FOR_EPHEMERALS);
  CHECK(f.store.ephemerals(s).value() == std::vector<std::string>{"/e"});
}

TEST_CASE(
    "store: a session's id is the zxid of its open entry, and closing it removes its ephemerals") {
  Fixture f;
  f.slot = 41;
  const SessionId s = f.open_session(3000);
  CHECK(s == SessionId{42});
  CHECK(f.store.session_exists(s));
  CHECK(f.store.sessions() == std::vector<SessionInfo>{SessionInfo{s, 3000}});
  const SessionId other = f.open_session();
  f.create(s, "/p");
  f.create(s, "/p/e1", NodeKind::ephemeral);
  f.create(s, "/p/e2", NodeKind::ephemeral);
  f.create(other, "/p/e3", NodeKind::ephemeral);
  const ApplyResult closed = f.run(CloseSessionCommand{s});
  REQUIRE(closed.response.status.ok());
  const auto z = f.slot;
  CHECK(closed.events == std::vector<Event>{event(EventType::deleted, "/p/e1", z),
                                            event(EventType::children_changed, "/p", z),
                                            event(EventType::deleted, "/p/e2", z),
                                            event(EventType::children_changed, "/p", z)});
  CHECK_FALSE(f.store.session_exists(s));
  CHECK(f.exists("/p"));
  CHECK(f.exists("/p/e3"));
  CHECK(f.store.ephemerals(s).error() == Error::SESSION_EXPIRED);
  CHECK(f.error_of(s, create_op("/x")) == Error::SESSION_EXPIRED);
  CHECK(f.run(CloseSessionCommand{s}).response.status.error == Error::SESSION_EXPIRED);
}

TEST_CASE(
    "store: an expiry removes the listed sessions and their ephemerals, skipping unknown ids") {
  Fixture f;
  const SessionId a = f.open_session();
  const SessionId b = f.open_session();
  const SessionId c = f.open_session();
  f.create(a, "/a", NodeKind::ephemeral);
  f.create(b, "/b", NodeKind::ephemeral);
  f.create(c, "/c", NodeKind::ephemeral);
  const ApplyResult result = f.run(ExpireSessionsCommand{{c, SessionId{999}, a, a}});
  REQUIRE(result.response.status.ok());
  CHECK(result.events.size() == 4);
  CHECK(result.events.at(0) == event(EventType::deleted, "/a", f.slot));
  CHECK(result.events.at(2) == event(EventType::deleted, "/c", f.slot));
  CHECK(f.store.sessions() == std::vector<SessionInfo>{SessionInfo{b, 5000}});
  CHECK(f.exists("/b"));
  CHECK_FALSE(f.exists("/a"));
  CHECK(f.run(OpenSessionCommand{0}).response.status.error == Error::BAD_ARGUMENTS);
  CHECK(f.run(OpenSessionCommand{session_timeout_ms_limit + 1}).response.status.error ==
        Error::BAD_ARGUMENTS);
}

TEST_CASE("store: a container goes when its last child goes, in the same entry, and cascades") {
  Fixture f;
  const SessionId s = f.open_session();
  f.create(s, "/c", NodeKind::container);
  f.create(s, "/c/d", NodeKind::container);
  f.create(s, "/c/d/x", NodeKind::ephemeral);
  f.create(s, "/never", NodeKind::container);
  const ApplyResult result = f.write(s, DeleteOp{path("/c/d/x"), std::nullopt});
  REQUIRE(result.response.status.ok());
  const auto z = f.slot;
  CHECK(result.events ==
        std::vector<Event>{
            event(EventType::deleted, "/c/d/x", z), event(EventType::children_changed, "/c/d", z),
            event(EventType::deleted, "/c/d", z), event(EventType::children_changed, "/c", z),
            event(EventType::deleted, "/c", z), event(EventType::children_changed, "/", z)});
  CHECK_FALSE(f.exists("/c"));
  CHECK(f.exists("/never"));  // a container that never had a child stays
}

TEST_CASE("store: a container emptied and refilled by one multi stays; session expiry empties it") {
  Fixture f;
  const SessionId s = f.open_session();
  f.create(s, "/c", NodeKind::container);
  f.create(s, "/c/a", NodeKind::ephemeral);
  MultiCommand multi{s, std::nullopt, {}};
  multi.ops.push_back(MultiOp{DeleteOp{path("/c/a"), std::nullopt}, std::nullopt});
  multi.ops.push_back(
      MultiOp{CreateOp{path("/c/b"), "", NodeKind::ephemeral, false, 0, MissingParents::fail},
              std::nullopt});
  REQUIRE(f.run(multi).response.status.ok());
  CHECK(f.exists("/c/b"));
  REQUIRE(f.run(ExpireSessionsCommand{{s}}).response.status.ok());
  CHECK_FALSE(f.exists("/c"));
}

TEST_CASE("store: missing parents are created as persistent nodes or containers on request") {
  Fixture f;
  const SessionId s = f.open_session();
  const ApplyResult result = f.write(s, CreateOp{path("/a/b/c"), "v", NodeKind::ephemeral, false, 0,
                                                 MissingParents::create_container});
  REQUIRE(result.response.status.ok());
  const auto z = f.slot;
  CHECK(result.events ==
        std::vector<Event>{
            event(EventType::created, "/a", z), event(EventType::children_changed, "/", z),
            event(EventType::created, "/a/b", z), event(EventType::children_changed, "/a", z),
            event(EventType::created, "/a/b/c", z), event(EventType::children_changed, "/a/b", z)});
  CHECK(f.store.get(path("/a/b")).value().kind == NodeKind::container);
  CHECK(f.stat("/a/b").cversion == 1);
  CHECK(f.error_of(s, CreateOp{path("/p/q"), "", NodeKind::persistent, false, 0,
                               MissingParents::create_persistent}) == Error::OK);
  CHECK(f.store.get(path("/p")).value().kind == NodeKind::persistent);
  // Expiring the session takes the ephemeral and then both containers.
  REQUIRE(f.run(CloseSessionCommand{s}).response.status.ok());
  CHECK_FALSE(f.exists("/a"));
}

TEST_CASE("store: a TTL node is offered for removal once unmodified and childless for its TTL") {
  Fixture f;
  const SessionId s = f.open_session();
  f.now_ms = 10'000;
  f.create(s, "/t", NodeKind::ttl, false, 100);
  f.create(s, "/u", NodeKind::ttl, false, 100);
  f.create(s, "/u/child");
  CHECK(f.store.get(path("/t")).value().ttl_ms == 100);
  CHECK(f.store.expired_ttl_nodes(10'099, ttl_removals_max).empty());
  const auto expired = f.store.expired_ttl_nodes(10'100, ttl_removals_max);
  REQUIRE(expired.size() == 1);  // /u has a child
  CHECK(expired[0].text() == "/t");
  // A set races the removal: the re-check at apply time keeps the node.
  f.now_ms = 10'150;
  CHECK(f.error_of(s, SetOp{path("/t"), "fresh", std::nullopt}) == Error::OK);
  const ApplyResult kept = f.run(RemoveExpiredTtlCommand{{path("/t"), path("/u")}});
  REQUIRE(kept.response.status.ok());
  CHECK(kept.events.empty());
  CHECK(f.exists("/t"));
  f.now_ms = 10'250;
  const ApplyResult removed = f.run(RemoveExpiredTtlCommand{{path("/t")}});
  CHECK(removed.events == std::vector<Event>{event(EventType::deleted, "/t", f.slot),
                                             event(EventType::children_changed, "/", f.slot)});
  CHECK_FALSE(f.exists("/t"));
}

TEST_CASE("store: a failed multi changes nothing and says which op failed") {
  Fixture f;
  const SessionId s = f.open_session();
  f.create(s, "/a");
  const std::uint64_t before = f.store.digest();
  const std::size_t nodes_before = f.store.node_count();
  MultiCommand multi{s, std::nullopt, {}};
  multi.ops.push_back(MultiOp{create_op("/b"), std::nullopt});
  multi.ops.push_back(MultiOp{SetOp{path("/a"), "new", std::nullopt}, std::nullopt});
  multi.ops.push_back(MultiOp{DeleteOp{path("/a"), std::nullopt}, std::nullopt});
  multi.ops.push_back(MultiOp{CheckOp{path("/a"), 0}, std::nullopt});  // /a is gone: NO_NODE
  multi.ops.push_back(MultiOp{create_op("/c"), std::nullopt});
  const ApplyResult result = f.run(multi);
  CHECK(result.response.status.error == Error::NO_NODE);
  CHECK(result.response.status.message.find("multi op 3") != std::string::npos);
  REQUIRE(result.response.ops.size() == 5);
  CHECK(result.response.ops[0].error == Error::ROLLED_BACK);
  CHECK(result.response.ops[2].error == Error::ROLLED_BACK);
  CHECK(result.response.ops[3].error == Error::NO_NODE);
  CHECK(result.response.ops[4].error == Error::NOT_EXECUTED);
  CHECK(result.events.empty());
  CHECK(f.store.node_count() == nodes_before);
  CHECK(f.store.get(path("/a")).value().data == "d");
  CHECK_FALSE(f.exists("/b"));
  // Only applied_zxid moved; the digest covers it, so compare with a twin.
  Fixture twin;
  const SessionId t = twin.open_session();
  twin.create(t, "/a");
  twin.run(NoopCommand{});
  CHECK(twin.store.digest() == f.store.digest());
  CHECK(before != f.store.digest());
}

TEST_CASE("store: a successful multi applies every op in order with per-op results and events") {
  Fixture f;
  const SessionId s = f.open_session();
  f.create(s, "/a");
  MultiCommand multi{s, std::nullopt, {}};
  multi.ops.push_back(MultiOp{CheckOp{path("/a"), 0}, std::nullopt});
  multi.ops.push_back(
      MultiOp{CreateOp{path("/a/s-"), "", NodeKind::persistent, true, 0, MissingParents::fail},
              std::nullopt});
  multi.ops.push_back(MultiOp{SetOp{path("/a"), "v", 0}, std::nullopt});
  multi.ops.push_back(MultiOp{DeleteOp{path("/a/s-0000000000"), 0}, std::nullopt});
  const ApplyResult result = f.run(multi);
  REQUIRE(result.response.status.ok());
  REQUIRE(result.response.ops.size() == 4);
  CHECK(result.response.ops[1].path == "/a/s-0000000000");
  CHECK(result.response.ops[2].stat.value().version == 1);
  const auto z = f.slot;
  CHECK(result.events == std::vector<Event>{event(EventType::created, "/a/s-0000000000", z),
                                            event(EventType::children_changed, "/a", z),
                                            event(EventType::data_changed, "/a", z),
                                            event(EventType::deleted, "/a/s-0000000000", z),
                                            event(EventType::children_changed, "/a", z)});
  CHECK(f.stat("/a").cversion == 2);
  multi.ops.assign(multi_ops_max + 1, MultiOp{check_op("/a"), std::nullopt});
  CHECK(f.run(multi).response.status.error == Error::BAD_ARGUMENTS);
}

TEST_CASE("store: a fenced write passes only while the fence node has the token as its czxid") {
  Fixture f;
  const SessionId s = f.open_session();
  f.create(s, "/lock", NodeKind::ephemeral);
  const Zxid token = f.stat("/lock").czxid;
  const Fence good{path("/lock"), token};
  const Fence stale{path("/lock"), Zxid{token.value() - 1}};
  CHECK(f.store.check_fence(good).ok());
  CHECK(f.store.check_fence(stale).error == Error::FENCED);
  CHECK(f.write(s, create_op("/data"), good).response.status.ok());
  CHECK(f.write(s, SetOp{path("/data"), "x", std::nullopt}, stale).response.status.error ==
        Error::FENCED);
  // Re-acquiring the lock gives a new, higher token; the old one is refused.
  REQUIRE(f.error_of(s, DeleteOp{path("/lock"), std::nullopt}) == Error::OK);
  CHECK(f.store.check_fence(good).error == Error::FENCED);
  f.create(s, "/lock", NodeKind::ephemeral);
  CHECK(f.stat("/lock").czxid > token);
  MultiCommand multi{s, std::nullopt, {}};
  multi.ops.push_back(MultiOp{SetOp{path("/data"), "y", std::nullopt}, std::nullopt});
  multi.ops.push_back(MultiOp{SetOp{path("/data"), "z", std::nullopt}, good});
  const ApplyResult result = f.run(multi);
  CHECK(result.response.status.error == Error::FENCED);
  CHECK(result.response.ops[1].error == Error::FENCED);
  CHECK(f.store.get(path("/data")).value().data.empty());
  multi.fence = good;
  CHECK(f.run(multi).response.ops[0].error == Error::NOT_EXECUTED);
}

TEST_CASE("store: children come in name order, in pages bounded by a limit, after a cursor") {
  Fixture f;
  const SessionId s = f.open_session();
  f.create(s, "/d");
  for (const char* name : {"b", "a", "d", "c", "e"}) f.create(s, std::string("/d/") + name);
  const auto first = f.store.children(path("/d"), "", 2);
  REQUIRE(first.ok());
  REQUIRE(first.value().entries.size() == 2);
  CHECK(first.value().entries[0].name == "a");
  CHECK(first.value().entries[1].name == "b");
  CHECK(first.value().entries[1].stat == f.stat("/d/b"));
  CHECK(first.value().more);
  const auto rest = f.store.children(path("/d"), "b", 10);
  REQUIRE(rest.ok());
  CHECK(rest.value().entries.size() == 3);
  CHECK_FALSE(rest.value().more);
  CHECK(f.store.children(path("/d"), "bb", 1).value().entries.at(0).name == "c");
  CHECK(f.store.children(path("/d"), "", 0).error() == Error::BAD_ARGUMENTS);
  CHECK(f.store.children(path("/d"), "", children_page_max + 1).error() == Error::BAD_ARGUMENTS);
  CHECK(f.store.children(path("/zz"), "", 1).error() == Error::NO_NODE);
}

TEST_CASE("store: nodes_max and sessions_max are enforced as LIMIT_EXCEEDED") {
  StoreConfig config;
  config.nodes_max = 3;
  config.sessions_max = 1;
  Fixture f(config);
  const SessionId s = f.open_session();
  CHECK(f.run(OpenSessionCommand{100}).response.status.error == Error::LIMIT_EXCEEDED);
  f.create(s, "/a");
  CHECK(f.error_of(s, CreateOp{path("/b/c"), "", NodeKind::persistent, false, 0,
                               MissingParents::create_persistent}) == Error::LIMIT_EXCEEDED);
  f.create(s, "/b");
  CHECK(f.error_of(s, create_op("/c")) == Error::LIMIT_EXCEEDED);
  CHECK(f.store.node_count() == 3);
}

TEST_CASE("store: replicas applying the same entries have the same digest; any change alters it") {
  Fixture a, b;
  for (Fixture* f : {&a, &b}) {
    const SessionId s = f->open_session();
    f->create(s, "/x");
    f->create(s, "/x/y", NodeKind::ephemeral);
  }
  CHECK(a.store.digest() == b.store.digest());
  const SessionId s{1};
  CHECK(b.error_of(s, SetOp{path("/x"), "d", std::nullopt}) == Error::OK);  // same bytes
  a.run(NoopCommand{});
  CHECK(a.store.digest() != b.store.digest());  // the version moved
  CHECK(a.store.applied_zxid() == b.store.applied_zxid());
}

TEST_CASE("store: a session's writes apply in the order it numbered them; a later-numbered one first refuses the earlier") {
  Store store;
  Zxid z{0};
  auto next_zxid = [&] { return z = Zxid{z.value() + 1}; };
  const auto opened = store.apply(next_zxid(), 1000, OpenSessionCommand{5000});
  REQUIRE(opened.response.status.ok());
  const SessionId session = opened.response.session;
  auto create = [&](const char* p, std::uint64_t sequence) {
    CreateOp op;
    op.path = Path::parse(p).value();
    return store.apply(next_zxid(), 1000, WriteCommand{session, std::nullopt, op}, sequence);
  };
  CHECK(create("/a", 7).response.status.ok());
  CHECK(create("/b", 9).response.status.ok());
  const ApplyResult late = create("/c", 8);  // sent before /b, chosen after it
  CHECK(late.response.status.error == Error::NOT_EXECUTED);
  CHECK(late.out_of_order);
  CHECK(late.events.empty());
  CHECK_FALSE(store.exists(Path::parse("/c").value()).ok());
  const ApplyResult again = create("/b2", 9);  // a duplicate of request 9
  CHECK(again.out_of_order);
  CHECK(create("/d", 10).response.status.ok());
  CHECK(create("/e", 0).response.status.ok());  // unnumbered: no order to keep
  // The order survives a snapshot: the copy refuses what the original refuses.
  Store copy;
  REQUIRE(copy.load_snapshot(store.serialize_snapshot()).ok());
  CHECK(copy.digest() == store.digest());
  CreateOp op;
  op.path = Path::parse("/f").value();
  CHECK(copy.apply(Zxid{z.value() + 1}, 1000, WriteCommand{session, std::nullopt, op}, 10)
            .out_of_order);
}

TEST_CASE(
    "store: the quota refuses growth past bytes_max; a rolled-back multi gives its bytes back") {
  StoreConfig config;
  config.bytes_max = 4096;
  Fixture f(config);
  const SessionId s = f.open_session();
  CreateOp big = create_op("/big");
  big.data = std::string(2000, 'b');
  REQUIRE(f.write(s, big).response.status.ok());
  const std::uint64_t before = f.store.snapshot_bytes();
  CHECK(before == f.store.serialize_snapshot().size());
  // A set that grows past the quota, and a create that would, are refused.
  CHECK(f.error_of(s, SetOp{path("/big"), std::string(5000, 'c'), std::nullopt}) ==
        Error::LIMIT_EXCEEDED);
  CreateOp second = create_op("/second");
  second.data = std::string(3000, 's');
  CHECK(f.error_of(s, second) == Error::LIMIT_EXCEEDED);
  CHECK(f.store.snapshot_bytes() == before);
  // A multi whose later op fails rolls its earlier growth back.
  CreateOp small = create_op("/small");
  small.data = std::string(100, 'm');
  const ApplyResult multi =
      f.run(MultiCommand{s, std::nullopt, {MultiOp{small, {}}, MultiOp{second, {}}}});
  CHECK(multi.response.status.error == Error::LIMIT_EXCEEDED);
  CHECK(f.store.snapshot_bytes() == before);
  CHECK(f.store.serialize_snapshot().size() == before);
  // Shrinking and deleting always pass, and make room again.
  REQUIRE(f.write(s, SetOp{path("/big"), "", std::nullopt}).response.status.ok());
  REQUIRE(f.write(s, second).response.status.ok());
  CHECK(f.store.snapshot_bytes() == f.store.serialize_snapshot().size());
  CHECK(f.store.snapshot_bytes() <= config.bytes_max);
}

TEST_CASE(
    "store: an expiry proposed under a leadership older than the newest applied one is "
    "skipped") {
  // A deposed leader's expiry, accepted by a minority, can be chosen later
  // through a newer leader's phase 1; that leader gave every session a fresh
  // timeout and may have vouched for them meanwhile (consensus §12).
  Store s;
  ApplyResult opened = s.apply(Zxid{1}, 0, OpenSessionCommand{5000});
  REQUIRE(opened.response.status.ok());
  const SessionId session = opened.response.session;
  (void)s.apply(Zxid{2}, 0, NoopCommand{Ballot{5, NodeId{2}}});  // leader (5,2) took over
  (void)s.apply(Zxid{3}, 0, ExpireSessionsCommand{{session}, Ballot{4, NodeId{1}}});
  CHECK(s.session_exists(session));
  // The leadership survives a snapshot.
  Store copy;
  REQUIRE(copy.load_snapshot(s.serialize_snapshot()).ok());
  CHECK(copy.leadership() == Ballot{5, NodeId{2}});
  (void)copy.apply(Zxid{4}, 0, ExpireSessionsCommand{{session}, Ballot{4, NodeId{1}}});
  CHECK(copy.session_exists(session));
  // The current leadership's own expiry applies.
  (void)s.apply(Zxid{4}, 0, ExpireSessionsCommand{{session}, Ballot{5, NodeId{2}}});
  CHECK_FALSE(s.session_exists(session));
}
