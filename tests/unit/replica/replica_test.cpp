// Scenario tests for Replica on a one-voter ensemble over MemoryDisk: the
// API as synodd's runtime will drive it. The simulator (tests/sim, store
// workload) covers ensembles, faults and the model checks.
#include <doctest/doctest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "base/prng.h"
#include "server/codec/peer.h"
#include "server/replica/replica.h"
#include "server/wal/memory_disk.h"
#include "tests/unit/replica/played_follower.h"
#include "tests/unit/replica/single_replica.h"

using namespace synod;
using replica::ClientId;
using replica::Replica;

namespace {

constexpr std::int64_t tick_ms = testing::single_tick_ms;

// The one-voter replica of single_replica.h; it never sends to a peer.
struct Single : testing::SingleReplica {
  ~Single() { CHECK(sent.empty()); }
  Single(const Single&) = delete;
  Single& operator=(const Single&) = delete;
  Single() = default;
};

protocol::Path path(const char* text) { return protocol::Path::parse(text).value(); }

protocol::WriteRequest create(const char* p, std::string data,
                              protocol::NodeKind kind = protocol::NodeKind::persistent) {
  protocol::CreateOp op;
  op.path = path(p);
  op.data = std::move(data);
  op.kind = kind;
  return protocol::WriteRequest{std::nullopt, op};
}

}  // namespace

TEST_CASE("replica: a one-voter ensemble elects itself, opens a session, writes and reads back") {
  Single s;
  s.tick(40);
  REQUIRE(s.replica->core().is_leader());
  const ClientId client{1};
  const SessionId session = s.open_session(client, 1);
  CHECK(session != SessionId{0});
  auto created = s.request(client, 2, create("/hello", "world"));
  REQUIRE(created.status.ok());
  CHECK(std::get<protocol::CreateResult>(created.body).path == "/hello");
  auto got = s.request(
      client, 3, protocol::GetRequest{path("/hello"), false, protocol::ReadMode::linearizable});
  REQUIRE(got.status.ok());
  CHECK(std::get<protocol::DataResult>(got.body).data == "world");
  CHECK(got.zxid >= created.zxid);
}

TEST_CASE("replica: a client may not send the leader's own commands") {
  // The protocol cannot express them: a request body is a client request,
  // never a store command (expiry, TTL removal, no-op, a session open made
  // by the leader), and a write carries no session of its own.
  static_assert(!std::is_constructible_v<protocol::ClientBody, store::ExpireSessionsCommand>);
  static_assert(!std::is_constructible_v<protocol::ClientBody, store::RemoveExpiredTtlCommand>);
  static_assert(!std::is_constructible_v<protocol::ClientBody, store::OpenSessionCommand>);
  static_assert(!std::is_constructible_v<protocol::ClientBody, store::Command>);
  // And a write acts as the connection's session, whatever else is open.
  Single s;
  s.tick(40);
  const ClientId first{1}, second{2};
  const SessionId a = s.open_session(first, 1);
  const SessionId b = s.open_session(second, 1);
  REQUIRE(s.request(second, 2, create("/mine", "", protocol::NodeKind::ephemeral)).status.ok());
  auto got = s.request(
      first, 2, protocol::GetRequest{path("/mine"), false, protocol::ReadMode::linearizable});
  REQUIRE(got.status.ok());
  CHECK(std::get<protocol::DataResult>(got.body).stat.ephemeral_owner == b);
  CHECK(a != b);
}

TEST_CASE("replica: a write before a session is refused as SESSION_EXPIRED, definitely") {
  Single s;
  s.tick(40);
  auto r = s.request(ClientId{1}, 1, create("/x", "y"));
  CHECK(r.status.error == protocol::Error::SESSION_EXPIRED);
  CHECK_FALSE(s.replica->store().exists(path("/x")).ok());
}

TEST_CASE("replica: a data watch fires once, before the response of the write that fired it") {
  Single s;
  s.tick(40);
  const ClientId watcher{1}, writer{2};
  s.open_session(watcher, 1);
  s.open_session(writer, 1);
  REQUIRE(s.request(writer, 2, create("/w", "a")).status.ok());
  REQUIRE(s.request(watcher, 2,
                    protocol::GetRequest{path("/w"), true, protocol::ReadMode::linearizable})
              .status.ok());
  protocol::SetOp set{path("/w"), "b", std::nullopt};
  s.received.clear();
  s.replica->on_request(writer,
                        protocol::ClientRequest{3, protocol::WriteRequest{std::nullopt, set}});
  s.settle();
  s.tick(1);
  int events = 0;
  for (auto& m : s.received) {
    if (auto* e = std::get_if<protocol::WatchEvent>(&m.message)) {
      CHECK(m.client == watcher);
      CHECK(e->event.type == protocol::EventType::data_changed);
      ++events;
    }
  }
  CHECK(events == 1);
  // One-shot: a second set fires nothing.
  auto again = s.request(
      writer, 4,
      protocol::WriteRequest{std::nullopt, protocol::SetOp{path("/w"), "c", std::nullopt}});
  REQUIRE(again.status.ok());
  for (auto& m : s.received) CHECK_FALSE(std::holds_alternative<protocol::WatchEvent>(m.message));
}

namespace {

std::vector<protocol::Event> events_for(const testing::SingleReplica& s, ClientId client) {
  std::vector<protocol::Event> out;
  for (const auto& m : s.received) {
    const auto* e = std::get_if<protocol::WatchEvent>(&m.message);
    if (e != nullptr && m.client == client) out.push_back(e->event);
  }
  return out;
}

protocol::SetWatchRequest rewatch(const char* p, protocol::WatchKind kind, Zxid since) {
  return protocol::SetWatchRequest{path(p), kind, since};
}

}  // namespace

TEST_CASE(
    "replica: a one-shot watch set again from a zxid fires at once, unregistered, when its "
    "node changed after that zxid, and is registered when it did not") {
  Single s;
  s.tick(40);
  const ClientId watcher{1}, writer{2};
  s.open_session(watcher, 1);
  s.open_session(writer, 1);
  const Zxid created = s.request(writer, 2, create("/w", "a")).zxid;
  const Zxid changed =
      s.request(writer, 3,
                protocol::WriteRequest{std::nullopt, protocol::SetOp{path("/w"), "b", {}}})
          .zxid;
  REQUIRE(changed > created);

  // Changed after the zxid the client had seen: the event comes before the answer.
  auto r = s.request(watcher, 2, rewatch("/w", protocol::WatchKind::data, created));
  CHECK(r.status.ok());
  CHECK(std::holds_alternative<protocol::StatResult>(r.body));
  REQUIRE(events_for(s, watcher).size() == 1);
  CHECK(events_for(s, watcher)[0] ==
        protocol::Event{protocol::EventType::data_changed, "/w", changed});
  // ...and it is not registered: the next change fires nothing.
  REQUIRE(s.request(writer, 4,
                    protocol::WriteRequest{std::nullopt, protocol::SetOp{path("/w"), "c", {}}})
              .status.ok());
  CHECK(events_for(s, watcher).empty());

  // Unchanged since: registered, and fires on the next change.
  const Zxid now = s.request(watcher, 3, protocol::SyncRequest{}).zxid;
  CHECK(s.request(watcher, 4, rewatch("/w", protocol::WatchKind::children, now)).status.ok());
  CHECK(events_for(s, watcher).empty());
  REQUIRE(s.request(writer, 5, create("/w/k", "")).status.ok());
  REQUIRE(events_for(s, watcher).size() == 1);
  CHECK(events_for(s, watcher)[0].type == protocol::EventType::children_changed);

  // A data watch on a node gone since: deleted. An exists watch on a node
  // created since: created.
  CHECK(s.request(watcher, 5, rewatch("/gone", protocol::WatchKind::data, now)).status.ok());
  REQUIRE(events_for(s, watcher).size() == 1);
  CHECK(events_for(s, watcher)[0].type == protocol::EventType::deleted);
  const Zxid before{created.value() - 1};
  CHECK(s.request(watcher, 6, rewatch("/w", protocol::WatchKind::exists, before)).status.ok());
  REQUIRE(events_for(s, watcher).size() == 1);
  CHECK(events_for(s, watcher)[0] == protocol::Event{protocol::EventType::created, "/w", created});
}

TEST_CASE(
    "replica: past watches_max over all connections a watch is refused LIMIT_EXCEEDED "
    "and counted, and the read that asked still works") {
  replica::ReplicaOptions options = testing::single_options();
  options.watches.watches_max = 2;
  testing::SingleReplica s(options);
  s.tick(40);
  const ClientId a{1}, b{2};
  s.open_session(a, 1);
  s.open_session(b, 1);
  REQUIRE(s.request(a, 2, create("/w", "x")).status.ok());
  const auto get = [](const char* p) {
    return protocol::GetRequest{path(p), true, protocol::ReadMode::linearizable};
  };
  REQUIRE(s.request(a, 3, get("/w")).status.ok());
  REQUIRE(
      s.request(b, 2,
                protocol::SetWatchRequest{path("/"), protocol::WatchKind::persistent, std::nullopt})
          .status.ok());
  const protocol::Response refused = s.request(b, 3, get("/w"));
  CHECK(refused.status.error == protocol::Error::LIMIT_EXCEEDED);
  CHECK_MESSAGE(
      refused.status.message.find("server 1 holds 2 watches, its limit") != std::string::npos,
      refused.status.message);
  CHECK(std::holds_alternative<protocol::DataResult>(refused.body));
  CHECK(s.replica->status().watches == 2);
  CHECK(s.replica->status().watches_refused == 1);
  // Nothing else breaks: writes go on, and the held watches fire.
  s.received.clear();
  REQUIRE(
      s.request(b, 4, protocol::WriteRequest{std::nullopt, protocol::SetOp{path("/w"), "y", {}}})
          .status.ok());
  CHECK(events_for(s, a).size() == 1);
  CHECK(s.replica->status().watches == 1);
}

namespace {

// What `client` received, in order: its watch events' zxids, and 0 for a
// response.
std::vector<std::uint64_t> stream_of(const testing::SingleReplica& s, ClientId client) {
  std::vector<std::uint64_t> out;
  for (const auto& m : s.received) {
    if (m.client != client) continue;
    if (const auto* e = std::get_if<protocol::WatchEvent>(&m.message)) {
      out.push_back(e->event.zxid.value());
    } else if (std::holds_alternative<protocol::Response>(m.message)) {
      out.push_back(0);
    }
  }
  return out;
}

}  // namespace

TEST_CASE(
    "replica: a watch-from-zxid replay larger than a page is sent a page per drain, "
    "its answer and the connection's later events after the last page") {
  replica::ReplicaOptions options = testing::single_options();
  options.watch_replay_page_events = 4;
  options.snapshot_every = 1000;
  testing::SingleReplica s(options);
  s.tick(40);
  const ClientId watcher{1}, writer{2};
  s.open_session(watcher, 1);
  s.open_session(writer, 1);
  const Zxid from = s.request(writer, 2, create("/r", "")).zxid;
  std::vector<std::uint64_t> expected;  // the replay: one data_changed per set
  for (std::uint64_t i = 0; i < 11; ++i) {
    const auto r = s.request(
        writer, 3 + i, protocol::WriteRequest{std::nullopt, protocol::SetOp{path("/r"), "v", {}}});
    REQUIRE(r.status.ok());
    expected.push_back(r.zxid.value());
  }
  s.received.clear();
  s.replica->on_request(
      watcher, protocol::ClientRequest{9, protocol::SetWatchRequest{
                                              path("/r"), protocol::WatchKind::persistent, from}});
  s.settle();
  // One page; the answer waits. A change made meanwhile waits behind it.
  CHECK(stream_of(s, watcher) ==
        std::vector<std::uint64_t>(expected.begin(), expected.begin() + 4));
  s.replica->on_request(
      writer, protocol::ClientRequest{
                  20, protocol::WriteRequest{std::nullopt, protocol::SetOp{path("/r"), "w", {}}}});
  s.settle();
  const Zxid live{s.replica->applied().value()};
  const auto answered = [&] {
    const std::vector<std::uint64_t> got = stream_of(s, watcher);
    return std::find(got.begin(), got.end(), 0) != got.end();
  };
  CHECK_FALSE(answered());
  for (int drains = 0; drains < 8 && !answered(); ++drains) {
    s.replica->on_client_drained(watcher);
    s.settle();
  }
  std::vector<std::uint64_t> whole = expected;
  whole.push_back(0);  // the SetWatch answer, after the last page
  whole.push_back(live.value());
  CHECK(stream_of(s, watcher) == whole);
  // Nothing is held any more: the next change reaches the watcher at once.
  s.received.clear();
  const auto next = s.request(
      writer, 21, protocol::WriteRequest{std::nullopt, protocol::SetOp{path("/r"), "x", {}}});
  CHECK(stream_of(s, watcher) == std::vector<std::uint64_t>{next.zxid.value()});
}

TEST_CASE("replica: a silent session expires and its ephemerals go with it in the same entry") {
  Single s;
  s.tick(40);
  const ClientId client{1};
  const SessionId session = s.open_session(client, 1);
  REQUIRE(s.request(client, 2, create("/eph", "", protocol::NodeKind::ephemeral)).status.ok());
  CHECK(s.replica->store().exists(path("/eph")).ok());
  s.tick(300);  // 3 s of silence, past the negotiated 2 s
  CHECK_FALSE(s.replica->store().session_exists(session));
  CHECK_FALSE(s.replica->store().exists(path("/eph")).ok());
  bool told = false;
  for (auto& m : s.received) {
    if (auto* e = std::get_if<protocol::SessionEvent>(&m.message)) {
      told = told || e->state == protocol::SessionState::expired;
    }
  }
  CHECK(told);
}

TEST_CASE(
    "replica: client_session names the live session bound to a connection, and 0 before it "
    "opens one and after it expires or closes") {
  Single s;
  s.tick(40);
  const ClientId expiring{1};
  const ClientId closing{2};
  CHECK(s.replica->client_session(expiring) == SessionId{0});  // never heard of
  (void)s.try_request(expiring, 1, protocol::GetRequest{path("/"), false});
  CHECK(s.replica->client_session(expiring) == SessionId{0});  // a read opens no session
  const SessionId first = s.open_session(expiring, 2);
  const SessionId second = s.open_session(closing, 1);
  CHECK(s.replica->client_session(expiring) == first);
  CHECK(s.replica->client_session(closing) == second);
  REQUIRE(s.request(closing, 2, protocol::CloseSessionRequest{}).status.ok());
  CHECK(s.replica->client_session(closing) == SessionId{0});
  s.tick(300);  // 3 s of silence, past the negotiated 2 s
  CHECK(s.replica->client_session(expiring) == SessionId{0});
  s.replica->on_client_gone(expiring);
  CHECK(s.replica->client_session(expiring) == SessionId{0});
}

TEST_CASE("replica: keep-alives keep a session alive past its timeout") {
  Single s;
  s.tick(40);
  const ClientId client{1};
  const SessionId session = s.open_session(client, 1);
  for (std::uint64_t i = 0; i < 10; ++i) {
    s.tick(50);
    auto r = s.request(client, 10 + i, protocol::KeepAliveRequest{});
    REQUIRE(r.status.ok());
  }
  CHECK(s.replica->store().session_exists(session));
}

TEST_CASE(
    "replica: keep-alives arriving within a tick share the tick's round; a read does not wait") {
  Single s;
  s.lead();
  const ClientId a{1};
  const ClientId b{2};
  s.open_session(a, 1);
  s.open_session(b, 1);
  auto answered_now = [&](ClientId client, std::uint64_t id, protocol::ClientBody body) {
    s.received.clear();
    s.replica->on_request(client, protocol::ClientRequest{id, std::move(body)});
    s.settle();
    return std::ranges::any_of(s.received, [&](const replica::ToClient& m) {
      const auto* r = std::get_if<protocol::Response>(&m.message);
      return m.client == client && r != nullptr && r->request_id == id;
    });
  };
  CHECK_FALSE(answered_now(a, 2, protocol::KeepAliveRequest{}));
  CHECK_FALSE(answered_now(b, 2, protocol::KeepAliveRequest{}));
  s.received.clear();
  s.tick(1);  // one round for both
  std::vector<std::pair<ClientId, std::uint64_t>> ok;
  for (const auto& m : s.received) {
    const auto* r = std::get_if<protocol::Response>(&m.message);
    if (r != nullptr && r->status.ok()) ok.emplace_back(m.client, r->request_id);
  }
  CHECK(ok == std::vector<std::pair<ClientId, std::uint64_t>>{{a, 2}, {b, 2}});
  CHECK(
      answered_now(a, 3, protocol::GetRequest{path("/"), false, protocol::ReadMode::linearizable}));
}

TEST_CASE("replica: a restart recovers the store from the WAL and snapshots on its disk") {
  Single s;
  s.tick(40);
  const ClientId client{1};
  s.open_session(client, 1);
  for (std::uint64_t i = 0; i < 20; ++i) {
    const std::string p = "/n" + std::to_string(i);
    REQUIRE(s.request(client, 2 + i, create(p.c_str(), "d")).status.ok());
  }
  const std::uint64_t digest = s.replica->store().digest();
  const Slot applied = s.replica->applied();
  s.replica.reset();
  s.open();
  CHECK(s.replica->applied() == applied);
  CHECK(s.replica->store().digest() == digest);
  CHECK(s.replica->store().exists(path("/n19")).ok());
}

namespace {

std::vector<std::uint64_t> answered(const replica::ReplicaOutput& out, ClientId client) {
  std::vector<std::uint64_t> ids;
  for (const auto& m : out.to_clients) {
    if (m.client != client) continue;
    if (auto* r = std::get_if<protocol::Response>(&m.message)) ids.push_back(r->request_id);
  }
  return ids;
}

}  // namespace

TEST_CASE("replica: a write costs one sync; a chosen mark alone asks for none") {
  Single s;
  s.tick(40);
  REQUIRE(s.replica->core().is_leader());
  const ClientId client{1};
  (void)s.open_session(client, 1);
  const auto syncs_before = s.disk.sync_count();
  s.replica->on_request(client, protocol::ClientRequest{2, create("/a", "1")});
  replica::ReplicaOutput out = s.replica->take_output();
  REQUIRE(out.sync_needed);
  REQUIRE_FALSE(s.replica->sync().has_value());
  out = s.replica->take_output();
  CHECK(answered(out, client) == std::vector<std::uint64_t>{2});
  CHECK_FALSE(out.sync_needed);  // the chosen mark written after it waits for nothing
  CHECK_FALSE(s.replica->wants_sync());
  CHECK(s.disk.sync_count() == syncs_before + 1);
}

TEST_CASE("replica: a write made while a sync runs is answered only after the next sync") {
  Single s;
  s.tick(40);
  REQUIRE(s.replica->core().is_leader());
  const ClientId client{1};
  (void)s.open_session(client, 1);
  s.replica->on_request(client, protocol::ClientRequest{2, create("/a", "1")});
  REQUIRE(s.replica->take_output().sync_needed);
  auto ticket = s.replica->begin_sync();  // the fsync thread starts
  REQUIRE(ticket.has_value());
  REQUIRE(ticket->pending.job != nullptr);
  s.replica->on_request(client, protocol::ClientRequest{3, create("/b", "2")});
  CHECK(answered(s.replica->take_output(), client).empty());
  const wal::Status ran = ticket->pending.job->run();
  REQUIRE_FALSE(s.replica->finish_sync(*ticket, ran).has_value());
  replica::ReplicaOutput out = s.replica->take_output();
  CHECK(answered(out, client) == std::vector<std::uint64_t>{2});
  CHECK(out.sync_needed);  // /b's record is not durable yet
  REQUIRE_FALSE(s.replica->sync().has_value());
  CHECK(answered(s.replica->take_output(), client) == std::vector<std::uint64_t>{3});
}

TEST_CASE("replica: a failed sync job turns the replica read-only and acknowledges nothing") {
  Single s;
  s.tick(40);
  const ClientId client{1};
  (void)s.open_session(client, 1);
  s.replica->on_request(client, protocol::ClientRequest{2, create("/a", "1")});
  (void)s.replica->take_output();
  auto ticket = s.replica->begin_sync();
  REQUIRE(ticket.has_value());
  s.disk.fail_next_syncs(1);
  const wal::Status ran = ticket->pending.job->run();
  const auto error = s.replica->finish_sync(*ticket, ran);
  CHECK_FALSE(error.has_value());  // not fatal (disk_failure_test.cpp)
  CHECK(s.replica->disk_failure().has_value());
  CHECK_FALSE(s.replica->fatal().has_value());
  for (const auto& m : s.replica->take_output().to_clients) {
    const auto* r = std::get_if<protocol::Response>(&m.message);
    REQUIRE(r != nullptr);
    CHECK(r->status.error == protocol::Error::TIMEOUT);  // outcome unknown, never ok
  }
}

TEST_CASE("replica: a session's write chosen after its later write is answered NOT_EXECUTED, "
          "in order") {
  testing::PlayedFollower f;
  f.request(1, protocol::OpenSessionRequest{20000, std::nullopt, Zxid{}});
  REQUIRE(f.forwarded.size() == 1);
  f.accept(Slot{1}, {f.forwarded[0]}, Slot{1});  // the open is chosen at slot 1
  REQUIRE(f.answers.size() == 1);
  REQUIRE(f.answers[0].status.ok());
  const SessionId session = std::get<protocol::SessionResult>(f.answers[0].body).session;
  CHECK(session == SessionId{1});
  f.forwarded.clear();
  f.answers.clear();
  f.request(2, create("/seven", "7"));
  f.request(3, create("/eight", "8"));
  REQUIRE(f.forwarded.size() == 2);
  // A leader change chose request 3 first (slot 2) and request 2 after it
  // (slot 3): the store refuses request 2, which never applied.
  f.accept(Slot{2}, {f.forwarded[1], f.forwarded[0]}, Slot{3});
  REQUIRE(f.answers.size() == 2);
  CHECK(f.answers[0].request_id == 2);
  CHECK(f.answers[0].status.error == protocol::Error::NOT_EXECUTED);
  CHECK(f.answers[0].zxid == Zxid{1});  // the connection's last zxid, none of its own
  CHECK(f.answers[1].request_id == 3);
  CHECK(f.answers[1].status.ok());
  CHECK(f.answers[1].zxid == Zxid{2});
  CHECK(f.replica->store().exists(path("/eight")).ok());
  CHECK_FALSE(f.replica->store().exists(path("/seven")).ok());
}

TEST_CASE(
    "replica: more sessions expiring at once than one entry may name expire over several "
    "entries, and every replica goes on") {
  // A failover gives every session the same fresh deadline, so thousands can
  // fall due in one tick. One expiry entry names at most
  // expire_sessions_per_entry_max of them (the decoder refuses more than
  // store::expire_sessions_max): a single unbounded entry would be chosen
  // and then stop every replica that applies it.
  Single s;
  s.tick(40);
  REQUIRE(s.replica->core().is_leader());
  constexpr std::uint64_t sessions = store::expire_sessions_max + 1000;
  for (std::uint64_t i = 1; i <= sessions; ++i) {
    s.replica->on_request(ClientId{i}, protocol::ClientRequest{1, protocol::OpenSessionRequest{
                                                                      1000, std::nullopt, Zxid{}}});
  }
  s.settle();
  s.tick(1);
  REQUIRE(s.replica->status().sessions == sessions);
  for (std::uint64_t i = 1; i <= sessions; ++i) s.replica->on_client_gone(ClientId{i});
  const Slot before = s.replica->applied();
  s.tick(150);  // past every deadline (1000 ms), with room for the entries
  CHECK(s.replica->status().sessions == 0);
  // At least ceil(sessions / per-entry max) expiry entries were applied.
  CHECK(s.replica->applied().value() - before.value() >=
        (sessions + replica::expire_sessions_per_entry_max_default - 1) /
            replica::expire_sessions_per_entry_max_default);
}

TEST_CASE("replica: expire_sessions_per_entry_max is checked against what the decoder accepts") {
  replica::ReplicaOptions o;
  o.core.self = NodeId{1};
  CHECK(o.validate().ok());
  o.expire_sessions_per_entry_max = 0;
  CHECK_FALSE(o.validate().ok());
  o.expire_sessions_per_entry_max = static_cast<std::uint32_t>(store::expire_sessions_max) + 1;
  CHECK_FALSE(o.validate().ok());
}

TEST_CASE(
    "replica: a leader that was itself stalled does not count the stall against its "
    "sessions") {
  // Keep-alives that arrived during a stall wait in socket buffers; a
  // leader that expired sessions on waking would expire live ones.
  Single s;
  s.tick(40);
  REQUIRE(s.replica->core().is_leader());
  const SessionId session = s.open_session(ClientId{1}, 1);  // timeout clamped to 2000 ms
  s.now_ms += 5000;                                          // the event loop was blocked
  s.replica->on_tick(replica::Time{s.now_ms, 1'700'000'000'000 + s.now_ms});
  s.settle();
  s.tick(1);
  CHECK(s.replica->store().session_exists(session));
  // Silence afterwards still expires it, one timeout later.
  s.tick(150);
  CHECK(s.replica->store().session_exists(session));
  s.tick(100);
  CHECK_FALSE(s.replica->store().session_exists(session));
}

TEST_CASE("replica: a move needs the session's secret; a wrong one is SESSION_EXPIRED, untouched") {
  Single s;
  s.tick(40);
  const ClientId owner{1};
  const ClientId thief{2};
  const ClientId mover{3};
  const auto opened = s.request(owner, 1, protocol::OpenSessionRequest{2000, std::nullopt, Zxid{}});
  REQUIRE(opened.status.ok());
  const auto result = std::get<protocol::SessionResult>(opened.body);
  CHECK(result.secret != SessionSecret{});
  CHECK(s.replica->store().session_secret(result.session) == result.secret);
  REQUIRE(s.request(owner, 2, create("/eph", "", protocol::NodeKind::ephemeral)).status.ok());
  // The thief knows the id (ephemeral_owner) and pipelines a move, a delete
  // and a close behind it.
  protocol::OpenSessionRequest steal{2000, result.session, opened.zxid};
  steal.secret = SessionSecret{result.secret.high, result.secret.low ^ 1};
  s.received.clear();
  s.replica->on_request(thief, protocol::ClientRequest{10, steal});
  s.replica->on_request(thief, protocol::ClientRequest{11, protocol::WriteRequest{
                                                               std::nullopt, protocol::DeleteOp{
                                                                                 path("/eph"), {}}}});
  s.replica->on_request(thief, protocol::ClientRequest{12, protocol::CloseSessionRequest{}});
  s.settle();
  s.tick(2);
  std::vector<protocol::Response> answers;
  for (auto& m : s.received) {
    if (auto* r = std::get_if<protocol::Response>(&m.message); r && m.client == thief)
      answers.push_back(*r);
  }
  REQUIRE(answers.size() == 3);
  CHECK(answers[0].status.error == protocol::Error::SESSION_EXPIRED);
  CHECK(answers[0].status.message ==
        "session " + std::to_string(result.session.value()) + ": the secret does not match");
  CHECK(answers[1].status.error == protocol::Error::SESSION_EXPIRED);
  CHECK(answers[2].status.error == protocol::Error::SESSION_EXPIRED);
  CHECK(s.replica->store().session_exists(result.session));
  CHECK(s.replica->store().exists(path("/eph")).ok());
  CHECK(s.request(owner, 3, create("/still", "")).status.ok());
  // With the secret the session moves, and writes as itself there.
  protocol::OpenSessionRequest move{2000, result.session, opened.zxid};
  move.secret = result.secret;
  const auto moved = s.request(mover, 20, move);
  REQUIRE_MESSAGE(moved.status.ok(), moved.status.message);
  CHECK(std::get<protocol::SessionResult>(moved.body).session == result.session);
  CHECK(std::get<protocol::SessionResult>(moved.body).secret == result.secret);
  CHECK(s.request(mover, 21, protocol::WriteRequest{std::nullopt, protocol::DeleteOp{
                                                                      path("/eph"), {}}})
            .status.ok());
}

TEST_CASE("replica: once a session moves, its old connection is told SESSION_MOVED and refused") {
  Single s;
  s.tick(40);
  const ClientId old_connection{1};
  const ClientId new_connection{2};
  const auto opened =
      s.request(old_connection, 1, protocol::OpenSessionRequest{2000, std::nullopt, Zxid{}});
  REQUIRE(opened.status.ok());
  const auto result = std::get<protocol::SessionResult>(opened.body);
  protocol::OpenSessionRequest move{2000, result.session, opened.zxid};
  move.secret = result.secret;
  REQUIRE(s.request(new_connection, 10, move).status.ok());
  bool told = false;
  for (auto& m : s.received) {
    const auto* e = std::get_if<protocol::SessionEvent>(&m.message);
    if (e == nullptr) continue;
    CHECK(m.client == old_connection);  // the new connection is not told
    told = told || (e->state == protocol::SessionState::moved && e->session == result.session);
  }
  CHECK(told);
  const auto write = s.request(old_connection, 2, create("/old", ""));
  CHECK(write.status.error == protocol::Error::SESSION_MOVED);
  CHECK(s.request(old_connection, 3, protocol::KeepAliveRequest{}).status.error ==
        protocol::Error::SESSION_MOVED);
  CHECK_FALSE(s.replica->store().exists(path("/old")).ok());
  CHECK(s.request(new_connection, 11, create("/new", "")).status.ok());
  CHECK(s.replica->store().session_exists(result.session));
}

TEST_CASE(
    "replica: a write is acknowledged only once its record is durable, also when a WAL segment "
    "is held behind a rotation") {
  replica::ReplicaOptions options = testing::single_options();
  options.wal.segment_bytes_max = wal::segment_bytes_max_min;  // every record rotates
  testing::SingleReplica s(options);
  s.tick(40);
  REQUIRE(s.replica->core().is_leader());
  const ClientId client{1};
  (void)s.open_session(client, 1);
  std::vector<std::string> acknowledged;
  for (std::uint64_t i = 0; i < 12; ++i) {
    const std::string name = "/n" + std::to_string(i);
    auto created = s.try_request(client, 2 + i, create(name.c_str(), "v"));
    if (created && created->status.ok()) acknowledged.push_back(name);
  }
  REQUIRE_FALSE(acknowledged.empty());
  // A crash loses what was not synced: never an acknowledged write.
  s.replica.reset();
  base::Prng prng(7);
  s.disk.crash(prng);
  s.open();
  s.tick(40);  // chosen marks are hints: the new leadership chooses the log again
  REQUIRE(s.replica->core().is_leader());
  for (const std::string& name : acknowledged) {
    CAPTURE(name);
    CHECK(s.replica->store().exists(path(name.c_str())).ok());
  }
}

namespace {

// A MoveSessionCommand as another server forwards it once it vouched a move.
void forward_move(Single& s, SessionId session, NodeId to, Zxid at) {
  const std::string bytes = codec::encode_command(
      codec::LogCommand{0, SessionId{0}, 0, store::MoveSessionCommand{session, to, at}});
  s.replica->on_message(to, consensus::Forward{{consensus::Entry::command(bytes)}});
  s.settle();
  s.tick(1);
}

}  // namespace

TEST_CASE(
    "replica: a session moved to another server reaches its old connection here through the "
    "log: SESSION_MOVED; a connection bound after that move keeps the session") {
  Single s;
  s.tick(40);
  const ClientId old_connection{1};
  const auto opened =
      s.request(old_connection, 1, protocol::OpenSessionRequest{2000, std::nullopt, Zxid{}});
  REQUIRE(opened.status.ok());
  const auto result = std::get<protocol::SessionResult>(opened.body);
  REQUIRE(s.request(old_connection, 2, create("/before", "")).status.ok());
  s.received.clear();
  forward_move(s, result.session, NodeId{2}, Zxid{s.replica->applied().value()});
  bool told = false;
  for (auto& m : s.received) {
    const auto* e = std::get_if<protocol::SessionEvent>(&m.message);
    told = told || (e != nullptr && m.client == old_connection &&
                    e->state == protocol::SessionState::moved && e->session == result.session);
  }
  CHECK(told);
  CHECK(s.request(old_connection, 3, create("/old", "")).status.error ==
        protocol::Error::SESSION_MOVED);
  CHECK_FALSE(s.replica->store().exists(path("/old")).ok());
  CHECK(s.replica->store().session_exists(result.session));  // moved, not ended

  // The session comes back here; a stale move (vouched before this bind)
  // applied afterwards leaves the new connection alone.
  const ClientId back{2};
  protocol::OpenSessionRequest move{2000, result.session, opened.zxid};
  move.secret = result.secret;
  const Zxid stale{s.replica->applied().value()};
  REQUIRE(s.request(back, 10, move).status.ok());
  forward_move(s, result.session, NodeId{3}, stale);
  CHECK(s.request(back, 11, create("/back", "")).status.ok());
}
