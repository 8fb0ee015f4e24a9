#include "server/replica/watches.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <set>
#include <string>
#include <vector>

#include "base/prng.h"

using namespace synod;
using protocol::Event;
using protocol::EventType;
using replica::ClientId;
using replica::Notification;
using protocol::WatchKind;
using replica::WatchLimits;
using replica::WatchRegistry;

namespace {

protocol::Path path(const char* text) {
  auto parsed = protocol::Path::parse(text);
  REQUIRE_MESSAGE(parsed.ok(), parsed.status().message);
  return parsed.value();
}

ClientId client(std::uint64_t id) { return ClientId{id}; }

// Drives a registry one entry at a time, with increasing zxids.
struct Harness {
  explicit Harness(WatchLimits limits = {}) : registry(Zxid{0}, limits) {}

  // Applies one entry with `events` (type, path) at the next zxid.
  std::vector<Notification> apply(std::vector<std::pair<EventType, std::string>> events) {
    zxid = Zxid{zxid.value() + 1};
    std::vector<Event> full;
    for (auto& [type, text] : events) full.push_back(Event{type, text, zxid});
    std::vector<Notification> out;
    registry.on_applied(zxid, full, out);
    registry.check_invariants();
    return out;
  }
  std::vector<Notification> apply(EventType type, std::string text) {
    return apply({{type, std::move(text)}});
  }
  void add(std::uint64_t id, const char* text, WatchKind kind) {
    const protocol::Status status = registry.add(client(id), path(text), kind);
    REQUIRE_MESSAGE(status.ok(), status.message);
  }

  WatchRegistry registry;
  Zxid zxid{0};
};

std::vector<std::uint64_t> clients_of(const std::vector<Notification>& notifications) {
  std::vector<std::uint64_t> out;
  for (const Notification& n : notifications) out.push_back(n.client.value());
  return out;
}

constexpr EventType all_types[] = {EventType::created, EventType::deleted, EventType::data_changed,
                                   EventType::children_changed};

// Checks that a one-shot watch of `kind` on /a fires exactly on `fires`:
// for each event type, a fresh watch either fires once (and is gone) or does
// not fire (and stays).
void check_one_shot(WatchKind kind, std::set<EventType> fires) {
  for (EventType type : all_types) {
    CAPTURE(static_cast<int>(type));
    Harness h;
    h.add(1, "/a", kind);
    const auto out = h.apply(type, "/a");
    if (fires.contains(type)) {
      REQUIRE(out.size() == 1);
      CHECK(out[0].client == client(1));
      CHECK(out[0].event == Event{type, "/a", h.zxid});
      CHECK_FALSE(h.registry.contains(client(1), path("/a"), kind));
      CHECK(h.registry.count() == 0);
      CHECK(h.apply(type, "/a").empty());  // one-shot: the second event finds nothing
    } else {
      CHECK(out.empty());
      CHECK(h.registry.contains(client(1), path("/a"), kind));
      CHECK(h.registry.count(client(1)) == 1);
    }
  }
}

}  // namespace

TEST_CASE("watches: a data watch fires once on data_changed or deleted of its path") {
  check_one_shot(WatchKind::data, {EventType::data_changed, EventType::deleted});
}

TEST_CASE("watches: an exists watch fires once on created, deleted or data_changed of its path") {
  check_one_shot(WatchKind::exists,
                 {EventType::created, EventType::deleted, EventType::data_changed});
}

TEST_CASE("watches: a children watch fires once on children_changed or deleted of its path") {
  check_one_shot(WatchKind::children, {EventType::children_changed, EventType::deleted});
}

TEST_CASE("watches: one-shot watches ignore other paths, parents and children alike") {
  Harness h;
  h.add(1, "/a/b", WatchKind::data);
  h.add(1, "/a/b", WatchKind::exists);
  h.add(1, "/a/b", WatchKind::children);
  for (const char* other : {"/a", "/a/b/c", "/a/bc", "/", "/b"}) {
    for (EventType type : all_types) CHECK(h.apply(type, other).empty());
  }
  CHECK(h.registry.count(client(1)) == 3);
}

TEST_CASE("watches: a persistent watch fires on every event type of its exact path and stays") {
  Harness h;
  h.add(1, "/a", WatchKind::persistent);
  for (int round = 0; round < 3; ++round) {
    for (EventType type : all_types) {
      const auto out = h.apply(type, "/a");
      REQUIRE(out.size() == 1);
      CHECK(out[0].event == Event{type, "/a", h.zxid});
    }
  }
  CHECK(h.registry.contains(client(1), path("/a"), WatchKind::persistent));
  CHECK(h.registry.count() == 1);
  for (const char* other : {"/a/b", "/", "/ab", "/b"}) {
    for (EventType type : all_types) CHECK(h.apply(type, other).empty());
  }
}

TEST_CASE(
    "watches: a recursive watch fires on created, deleted, data_changed at and below its path") {
  Harness h;
  h.add(1, "/a", WatchKind::persistent_recursive);
  for (const char* inside : {"/a", "/a/b", "/a/b/c", "/a/ab"}) {
    for (EventType type : {EventType::created, EventType::deleted, EventType::data_changed}) {
      const auto out = h.apply(type, inside);
      REQUIRE(out.size() == 1);
      CHECK(out[0].client == client(1));
      CHECK(out[0].event == Event{type, inside, h.zxid});
    }
    CHECK(h.apply(EventType::children_changed, inside).empty());  // never, as ZooKeeper 3.6
  }
  CHECK(h.registry.count() == 1);
}

TEST_CASE("watches: a recursive watch on /a never fires for a sibling sharing its prefix") {
  Harness h;
  h.add(1, "/a", WatchKind::persistent_recursive);
  h.add(2, "/a/b", WatchKind::persistent_recursive);
  for (const char* outside : {"/ab", "/ab/c", "/", "/b", "/a/bc", "/a/bc/d"}) {
    const auto out = h.apply(EventType::created, outside);
    // Only client 1's watch on /a covers /a/bc; nothing covers the rest.
    const bool under_a = std::string(outside).starts_with("/a/");
    CHECK(clients_of(out) ==
          (under_a ? std::vector<std::uint64_t>{1} : std::vector<std::uint64_t>{}));
  }
}

TEST_CASE("watches: a recursive watch on the root sees every created, deleted and changed node") {
  Harness h;
  h.add(1, "/", WatchKind::persistent_recursive);
  CHECK(h.apply(EventType::created, "/x").size() == 1);
  CHECK(h.apply(EventType::data_changed, "/x/y/z").size() == 1);
  CHECK(h.apply(EventType::data_changed, "/").size() == 1);
  CHECK(h.apply(EventType::children_changed, "/").empty());
}

TEST_CASE("watches: a client with several matching watches gets one notification per event") {
  Harness h;
  h.add(1, "/a/b", WatchKind::data);
  h.add(1, "/a/b", WatchKind::exists);
  h.add(1, "/a/b", WatchKind::children);
  h.add(1, "/a/b", WatchKind::persistent);
  h.add(1, "/a", WatchKind::persistent_recursive);
  h.add(1, "/", WatchKind::persistent_recursive);
  CHECK(h.registry.count(client(1)) == 6);
  const auto out = h.apply(EventType::deleted, "/a/b");
  REQUIRE(out.size() == 1);
  CHECK(out[0].event.path == "/a/b");
  // Every one-shot that matched is gone; the persistent ones stay.
  CHECK(h.registry.count(client(1)) == 3);
  CHECK_FALSE(h.registry.contains(client(1), path("/a/b"), WatchKind::data));
  CHECK_FALSE(h.registry.contains(client(1), path("/a/b"), WatchKind::exists));
  CHECK_FALSE(h.registry.contains(client(1), path("/a/b"), WatchKind::children));
  CHECK(h.registry.contains(client(1), path("/a/b"), WatchKind::persistent));
}

TEST_CASE("watches: two events of one entry are two notifications, in event order") {
  Harness h;
  h.add(1, "/a", WatchKind::persistent);
  h.add(1, "/a/b", WatchKind::data);
  const auto out = h.apply({{EventType::deleted, "/a/b"}, {EventType::children_changed, "/a"}});
  REQUIRE(out.size() == 2);
  CHECK(out[0].event == Event{EventType::deleted, "/a/b", h.zxid});
  CHECK(out[1].event == Event{EventType::children_changed, "/a", h.zxid});
}

TEST_CASE(
    "watches: notifications for one event come in increasing client id, whatever the add order") {
  Harness h;
  for (std::uint64_t id : {7u, 2u, 9u, 1u, 5u}) h.add(id, "/a", WatchKind::persistent);
  h.add(4, "/", WatchKind::persistent_recursive);
  h.add(3, "/a", WatchKind::exists);
  h.add(8, "/a", WatchKind::persistent_recursive);
  const auto out = h.apply({{EventType::data_changed, "/a"}, {EventType::created, "/a/x"}});
  CHECK(clients_of(out) == std::vector<std::uint64_t>{1, 2, 3, 4, 5, 7, 8, 9, 4, 8});
}

TEST_CASE("watches: adding the same registration twice is idempotent") {
  Harness h;
  h.add(1, "/a", WatchKind::data);
  h.add(1, "/a", WatchKind::data);
  CHECK(h.registry.count() == 1);
  CHECK(h.registry.count(client(1)) == 1);
  CHECK(h.apply(EventType::data_changed, "/a").size() == 1);
  CHECK(h.registry.count() == 0);
}

TEST_CASE("watches: remove takes one registration away and leaves the rest") {
  Harness h;
  h.add(1, "/a", WatchKind::data);
  h.add(1, "/a", WatchKind::persistent);
  h.add(2, "/a", WatchKind::data);
  h.registry.remove(client(1), path("/a"), WatchKind::data);
  h.registry.remove(client(1), path("/a"), WatchKind::children);  // absent: nothing happens
  h.registry.remove(client(3), path("/zz"), WatchKind::data);     // unknown: nothing happens
  h.registry.check_invariants();
  CHECK(h.registry.count() == 2);
  CHECK(h.registry.count(client(1)) == 1);
  CHECK_FALSE(h.registry.contains(client(1), path("/a"), WatchKind::data));
  CHECK(clients_of(h.apply(EventType::data_changed, "/a")) == std::vector<std::uint64_t>{1, 2});
  h.registry.remove(client(1), path("/a"), WatchKind::persistent);
  CHECK(h.registry.count() == 0);
  CHECK(h.apply(EventType::data_changed, "/a").empty());
}

TEST_CASE("watches: remove_client drops every registration of that client only") {
  Harness h;
  h.add(1, "/a", WatchKind::data);
  h.add(1, "/a/b", WatchKind::children);
  h.add(1, "/", WatchKind::persistent_recursive);
  h.add(2, "/a", WatchKind::data);
  h.registry.remove_client(client(1));
  h.registry.remove_client(client(42));
  h.registry.check_invariants();
  CHECK(h.registry.count(client(1)) == 0);
  CHECK(h.registry.count() == 1);
  CHECK(clients_of(h.apply(EventType::deleted, "/a")) == std::vector<std::uint64_t>{2});
  CHECK(h.apply(EventType::children_changed, "/a/b").empty());
}

TEST_CASE("watches: a client at watches_per_client_max gets LIMIT_EXCEEDED, others do not") {
  Harness h(WatchLimits{3, 100, 1 << 20});
  h.add(1, "/a", WatchKind::data);
  h.add(1, "/b", WatchKind::data);
  h.add(1, "/c", WatchKind::persistent);
  const protocol::Status refused = h.registry.add(client(1), path("/d"), WatchKind::exists);
  CHECK(refused.error == protocol::Error::LIMIT_EXCEEDED);
  CHECK(refused.message.find("already holds 3 watches") != std::string::npos);
  CHECK(refused.message.find("/d") != std::string::npos);
  CHECK_FALSE(h.registry.contains(client(1), path("/d"), WatchKind::exists));
  CHECK(h.registry.add(client(1), path("/a"), WatchKind::data).ok());  // already held
  CHECK(h.registry.add(client(2), path("/d"), WatchKind::exists).ok());
  auto from = h.registry.add_from(client(1), path("/d"), WatchKind::persistent, Zxid{0}, h.zxid);
  CHECK(from.error() == protocol::Error::LIMIT_EXCEEDED);
  // A fired one-shot frees its place.
  CHECK(h.apply(EventType::data_changed, "/a").size() == 1);
  CHECK(h.registry.add(client(1), path("/d"), WatchKind::exists).ok());
  CHECK(h.registry.count(client(1)) == 3);
}

TEST_CASE(
    "watches: a server at watches_max refuses any client's new watch LIMIT_EXCEEDED, "
    "counts it, and takes one again once a watch fires") {
  WatchLimits limits;
  limits.watches_max = 3;
  WatchRegistry registry(Zxid{0}, limits, NodeId{4});
  REQUIRE(registry.add(client(1), path("/a"), WatchKind::data).ok());
  REQUIRE(registry.add(client(2), path("/b"), WatchKind::persistent).ok());
  REQUIRE(registry.add(client(3), path("/c"), WatchKind::exists).ok());
  const protocol::Status refused = registry.add(client(5), path("/d"), WatchKind::children);
  CHECK(refused.error == protocol::Error::LIMIT_EXCEEDED);
  CHECK_MESSAGE(refused.message.find("server 4 holds 3 watches, its limit") != std::string::npos,
                refused.message);
  CHECK_FALSE(registry.contains(client(5), path("/d"), WatchKind::children));
  auto from = registry.add_from(client(1), path("/e"), WatchKind::persistent, Zxid{0}, Zxid{0});
  CHECK(from.error() == protocol::Error::LIMIT_EXCEEDED);
  CHECK(registry.refused_over_budget() == 2);
  // What is already held is no new watch: no refusal, nothing counted.
  CHECK(registry.add(client(1), path("/a"), WatchKind::data).ok());
  CHECK(registry.refused_over_budget() == 2);
  registry.check_invariants();
  // A fired one-shot frees its place, for any client.
  std::vector<Notification> out;
  registry.on_applied(Zxid{1}, std::vector<Event>{Event{EventType::data_changed, "/a", Zxid{1}}},
                      out);
  CHECK(out.size() == 1);
  CHECK(registry.add(client(5), path("/d"), WatchKind::children).ok());
  CHECK(registry.count() == 3);
  registry.check_invariants();
}

TEST_CASE("watches: watch-from-zxid replays exactly the retained events the watch would have had") {
  Harness h;
  h.apply(EventType::created, "/a");                                             // 1
  h.apply({{EventType::created, "/a/b"}, {EventType::children_changed, "/a"}});  // 2
  h.apply(EventType::data_changed, "/ab");                                       // 3
  h.apply(EventType::data_changed, "/a/b");                                      // 4
  h.apply({});                                                                   // 5: no events
  h.apply({{EventType::deleted, "/a/b"}, {EventType::children_changed, "/a"}});  // 6

  auto recursive =
      h.registry.add_from(client(1), path("/a"), WatchKind::persistent_recursive, Zxid{1}, h.zxid);
  REQUIRE(recursive.ok());
  CHECK(recursive.value() ==
        std::vector<Notification>{{client(1), Event{EventType::created, "/a/b", Zxid{2}}},
                                  {client(1), Event{EventType::data_changed, "/a/b", Zxid{4}}},
                                  {client(1), Event{EventType::deleted, "/a/b", Zxid{6}}}});
  auto exact = h.registry.add_from(client(2), path("/a"), WatchKind::persistent, Zxid{0}, h.zxid);
  REQUIRE(exact.ok());
  CHECK(exact.value() ==
        std::vector<Notification>{{client(2), Event{EventType::created, "/a", Zxid{1}}},
                                  {client(2), Event{EventType::children_changed, "/a", Zxid{2}}},
                                  {client(2), Event{EventType::children_changed, "/a", Zxid{6}}}});
  auto now =
      h.registry.add_from(client(3), path("/"), WatchKind::persistent_recursive, h.zxid, h.zxid);
  REQUIRE(now.ok());
  CHECK(now.value().empty());
  // All three are registered and live from here on.
  CHECK(h.registry.count() == 3);
  CHECK(clients_of(h.apply(EventType::created, "/a/c")) == std::vector<std::uint64_t>{1, 3});
}

TEST_CASE(
    "watches: a paged watch-from-zxid replay ends pages on whole entries and answers "
    "COMPACTED when the history drops what it has not sent yet") {
  Harness h(WatchLimits{100, 6, 1 << 20});
  h.apply(EventType::created, "/a");                                       // 1
  h.apply({{EventType::data_changed, "/a"}, {EventType::deleted, "/a"}});  // 2: two events
  h.apply(EventType::created, "/b");                                       // 3: not /a
  h.apply(EventType::created, "/a");                                       // 4
  auto first =
      h.registry.add_from_page(client(1), path("/a"), WatchKind::persistent, Zxid{0}, h.zxid, 2);
  REQUIRE(first.ok());
  REQUIRE(first.value().events.size() == 1);  // entry 2 would not fit beside entry 1
  CHECK(first.value().more_after == Zxid{1});
  CHECK(h.registry.contains(client(1), path("/a"), WatchKind::persistent));
  auto second =
      h.registry.replay_page(client(1), path("/a"), WatchKind::persistent, Zxid{1}, Zxid{4}, 1);
  REQUIRE(second.ok());
  CHECK(second.value().events.size() == 2);  // one entry alone may pass the bound
  CHECK(second.value().more_after == Zxid{2});
  auto last =
      h.registry.replay_page(client(1), path("/a"), WatchKind::persistent, Zxid{2}, Zxid{4}, 2);
  REQUIRE(last.ok());
  REQUIRE(last.value().events.size() == 1);
  CHECK(last.value().events[0].event.zxid == Zxid{4});
  CHECK_FALSE(last.value().more_after);
  // Past the 6-event history bound entries 1 and 2 go: a replay resuming
  // after zxid 1 would miss entry 2.
  h.apply({{EventType::created, "/c"}, {EventType::created, "/d"}});
  h.apply(EventType::created, "/e");
  REQUIRE(h.registry.history_dropped_through() >= Zxid{2});
  auto gone =
      h.registry.replay_page(client(1), path("/a"), WatchKind::persistent, Zxid{1}, Zxid{4}, 2);
  CHECK(gone.error() == protocol::Error::COMPACTED);
}

TEST_CASE("watches: watch-from-zxid refuses a one-shot kind and a zxid past the applied point") {
  Harness h;
  h.apply(EventType::created, "/a");
  auto one_shot = h.registry.add_from(client(1), path("/a"), WatchKind::data, Zxid{0}, h.zxid);
  CHECK(one_shot.error() == protocol::Error::BAD_ARGUMENTS);
  auto future = h.registry.add_from(client(1), path("/a"), WatchKind::persistent, Zxid{5}, Zxid{4});
  CHECK(future.error() == protocol::Error::BAD_ARGUMENTS);
  CHECK(future.status().message.find("past this server's applied zxid 4") != std::string::npos);
  CHECK(h.registry.count() == 0);
}

TEST_CASE("watches: history dropped by event count makes older watch-from-zxid COMPACTED") {
  Harness h(WatchLimits{100, 3, 1 << 20});
  h.apply(EventType::created, "/a");                                          // 1
  h.apply({{EventType::created, "/b"}, {EventType::children_changed, "/"}});  // 2
  h.apply({});                                                                // 3
  h.apply(EventType::data_changed, "/a");                                     // 4: 4 events > 3
  CHECK(h.registry.history_oldest_zxid() == Zxid{2});
  CHECK(h.registry.history_dropped_through() == Zxid{1});
  CHECK(h.registry.history_events() == 3);

  auto gone =
      h.registry.add_from(client(1), path("/"), WatchKind::persistent_recursive, Zxid{0}, h.zxid);
  CHECK(gone.error() == protocol::Error::COMPACTED);
  CHECK(gone.status().message.find("oldest event still retained is at zxid 2") !=
        std::string::npos);
  CHECK(gone.status().message.find("watch from zxid 1 or later") != std::string::npos);
  CHECK(h.registry.count() == 0);  // nothing registered

  // Exactly at the boundary: everything after zxid 1 is still here.
  auto edge =
      h.registry.add_from(client(1), path("/"), WatchKind::persistent_recursive, Zxid{1}, h.zxid);
  REQUIRE(edge.ok());
  CHECK(edge.value() ==
        std::vector<Notification>{{client(1), Event{EventType::created, "/b", Zxid{2}}},
                                  {client(1), Event{EventType::data_changed, "/a", Zxid{4}}}});

  // Dropping entry 2 (two events) at once: never half an entry.
  h.apply(EventType::data_changed, "/b");  // 5
  CHECK(h.registry.history_oldest_zxid() == Zxid{4});
  CHECK(h.registry.history_dropped_through() == Zxid{2});
  CHECK(h.registry.history_events() == 2);
  auto before_empty =
      h.registry.add_from(client(2), path("/a"), WatchKind::persistent, Zxid{1}, h.zxid);
  CHECK(before_empty.error() == protocol::Error::COMPACTED);
  // zxid 3 had no events, so from 2 or 3 nothing is missing.
  for (std::uint64_t from : {2u, 3u}) {
    auto served =
        h.registry.add_from(client(2), path("/a"), WatchKind::persistent, Zxid{from}, h.zxid);
    REQUIRE(served.ok());
    CHECK(served.value() ==
          std::vector<Notification>{{client(2), Event{EventType::data_changed, "/a", Zxid{4}}}});
  }
}

TEST_CASE("watches: history dropped by bytes makes older watch-from-zxid COMPACTED") {
  const std::size_t per_event = 2 + replica::history_event_overhead_bytes;  // "/a"
  Harness h(WatchLimits{100, 1000, 2 * per_event});
  h.apply(EventType::created, "/a");       // 1
  h.apply(EventType::data_changed, "/a");  // 2
  CHECK(h.registry.history_bytes() == 2 * per_event);
  CHECK(h.registry.history_oldest_zxid() == Zxid{1});
  h.apply(EventType::data_changed, "/a");  // 3
  CHECK(h.registry.history_bytes() == 2 * per_event);
  CHECK(h.registry.history_oldest_zxid() == Zxid{2});
  auto gone = h.registry.add_from(client(1), path("/a"), WatchKind::persistent, Zxid{0}, h.zxid);
  CHECK(gone.error() == protocol::Error::COMPACTED);
  CHECK(gone.status().message.find("up to zxid 1") != std::string::npos);
  CHECK(gone.status().message.find("oldest event still retained is at zxid 2") !=
        std::string::npos);
  auto edge = h.registry.add_from(client(1), path("/a"), WatchKind::persistent, Zxid{1}, h.zxid);
  REQUIRE(edge.ok());
  CHECK(edge.value().size() == 2);
}

TEST_CASE("watches: an entry larger than the history bound is dropped whole, never halved") {
  Harness h(WatchLimits{100, 2, 1 << 20});
  h.apply(EventType::created, "/a");  // 1
  h.apply({{EventType::created, "/a/b"},
           {EventType::created, "/a/c"},
           {EventType::children_changed, "/a"}});  // 2: three events, above the bound
  CHECK(h.registry.history_events() == 0);
  CHECK_FALSE(h.registry.history_oldest_zxid().has_value());
  CHECK(h.registry.history_dropped_through() == Zxid{2});
  auto gone = h.registry.add_from(client(1), path("/a"), WatchKind::persistent, Zxid{1}, h.zxid);
  CHECK(gone.error() == protocol::Error::COMPACTED);
  CHECK(gone.status().message.find("no event is retained") != std::string::npos);
  auto now = h.registry.add_from(client(1), path("/a"), WatchKind::persistent, Zxid{2}, h.zxid);
  REQUIRE(now.ok());
  CHECK(now.value().empty());
}

TEST_CASE(
    "watches: a registry started at a zxid, or reset to a snapshot, knows nothing before it") {
  WatchRegistry registry(Zxid{100});
  auto before =
      registry.add_from(client(1), path("/"), WatchKind::persistent_recursive, Zxid{99}, Zxid{100});
  CHECK(before.error() == protocol::Error::COMPACTED);
  std::vector<Notification> out;
  const std::vector<Event> events{{EventType::created, "/a", Zxid{101}}};
  registry.on_applied(Zxid{101}, events, out);
  auto at = registry.add_from(client(1), path("/"), WatchKind::persistent_recursive, Zxid{100},
                              Zxid{101});
  REQUIRE(at.ok());
  CHECK(at.value().size() == 1);

  registry.reset_history(Zxid{200});
  registry.check_invariants();
  CHECK(registry.history_events() == 0);
  CHECK(registry.count() == 1);  // registrations stay
  auto old = registry.add_from(client(2), path("/"), WatchKind::persistent, Zxid{150}, Zxid{200});
  CHECK(old.error() == protocol::Error::COMPACTED);
  auto fresh = registry.add_from(client(2), path("/"), WatchKind::persistent, Zxid{200}, Zxid{200});
  CHECK(fresh.ok());
}

// ---- The naive twin (STYLE.md habit 14): a flat list of registrations,
// scanned in full for every event, and a history of every entry kept in a
// list, trimmed by the same bounds. ----

namespace {

struct NaiveRegistration {
  ClientId client;
  std::string path;
  WatchKind kind;
  friend bool operator==(const NaiveRegistration&, const NaiveRegistration&) = default;
};

bool naive_fires(const NaiveRegistration& r, const Event& e) {
  const bool exact = r.path == e.path;
  const bool below = r.path == "/" ? true
                                   : e.path.size() > r.path.size() &&
                                         e.path.compare(0, r.path.size(), r.path) == 0 &&
                                         e.path[r.path.size()] == '/';
  switch (r.kind) {
    case WatchKind::data:
      return exact && (e.type == EventType::data_changed || e.type == EventType::deleted);
    case WatchKind::exists:
      return exact && e.type != EventType::children_changed;
    case WatchKind::children:
      return exact && (e.type == EventType::children_changed || e.type == EventType::deleted);
    case WatchKind::persistent:
      return exact;
    case WatchKind::persistent_recursive:
      return (exact || below) && e.type != EventType::children_changed;
  }
  return false;
}

struct NaiveModel {
  WatchLimits limits;
  std::vector<NaiveRegistration> registrations;
  std::deque<std::vector<Event>> history;  // entries, oldest first
  Zxid dropped{0};

  std::size_t count(ClientId c) const {
    return static_cast<std::size_t>(std::count_if(registrations.begin(), registrations.end(),
                                                  [&](const auto& r) { return r.client == c; }));
  }
  bool has(const NaiveRegistration& r) const {
    return std::find(registrations.begin(), registrations.end(), r) != registrations.end();
  }
  protocol::Error add(const NaiveRegistration& r) {
    if (has(r)) return protocol::Error::OK;
    if (count(r.client) >= limits.watches_per_client_max) return protocol::Error::LIMIT_EXCEEDED;
    registrations.push_back(r);
    return protocol::Error::OK;
  }
  void remove(const NaiveRegistration& r) { std::erase(registrations, r); }
  void remove_client(ClientId c) {
    std::erase_if(registrations, [&](const auto& r) { return r.client == c; });
  }
  void apply(Zxid zxid, const std::vector<Event>& events, std::vector<Notification>& out) {
    for (const Event& e : events) {
      std::set<ClientId> hit;
      for (const auto& r : registrations) {
        if (naive_fires(r, e)) hit.insert(r.client);
      }
      std::erase_if(registrations, [&](const auto& r) {
        return replica::is_one_shot(r.kind) && naive_fires(r, e);
      });
      for (ClientId c : hit) out.push_back({c, e});
    }
    if (events.empty()) return;
    history.push_back(events);
    for (;;) {
      std::size_t n = 0;
      std::size_t bytes = 0;
      for (const auto& entry : history) {
        for (const Event& e : entry) {
          n += 1;
          bytes += e.path.size() + replica::history_event_overhead_bytes;
        }
      }
      if (history.empty() ||
          (n <= limits.history_events_max && bytes <= limits.history_bytes_max)) {
        break;
      }
      dropped = history.front().front().zxid;
      history.pop_front();
    }
    (void)zxid;
  }
  // Error, and the replay when OK.
  std::pair<protocol::Error, std::vector<Notification>> add_from(const NaiveRegistration& r,
                                                                 Zxid from) {
    if (from < dropped) return {protocol::Error::COMPACTED, {}};
    if (!has(r) && count(r.client) >= limits.watches_per_client_max) {
      return {protocol::Error::LIMIT_EXCEEDED, {}};
    }
    std::vector<Notification> replay;
    for (const auto& entry : history) {
      for (const Event& e : entry) {
        if (e.zxid > from && naive_fires(r, e)) replay.push_back({r.client, e});
      }
    }
    if (!has(r)) registrations.push_back(r);
    return {protocol::Error::OK, replay};
  }
};

}  // namespace

TEST_CASE("watches: the registry agrees with a naive linear model over random operations") {
  const char* paths[] = {"/", "/a", "/ab", "/a/b", "/a/bc", "/a/b/c", "/ab/c", "/b", "/b/a"};
  const EventType types[] = {EventType::created, EventType::deleted, EventType::data_changed,
                             EventType::children_changed};
  std::size_t replayed = 0;
  std::size_t compacted = 0;
  std::size_t limited = 0;
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    CAPTURE(seed);
    base::Prng prng(seed);
    const WatchLimits limits{static_cast<std::size_t>(prng.range(1, 8)),
                             static_cast<std::size_t>(prng.range(0, 30)),
                             static_cast<std::size_t>(prng.range(0, 30)) * 70};
    WatchRegistry registry(Zxid{0}, limits);
    NaiveModel model{limits, {}, {}, Zxid{0}};
    Zxid zxid{0};
    std::size_t notified = 0;
    for (int step = 0; step < 3000; ++step) {
      CAPTURE(step);
      const ClientId c{prng.range(1, 5)};
      const char* p = paths[prng.below(std::size(paths))];
      const auto kind = static_cast<WatchKind>(
          prng.range(static_cast<std::uint64_t>(replica::watch_kind_first),
                     static_cast<std::uint64_t>(replica::watch_kind_last)));
      const NaiveRegistration r{c, p, kind};
      const std::uint64_t op = prng.below(100);
      if (op < 35) {
        const protocol::Error want = model.add(r);
        CHECK(registry.add(c, path(p), kind).error == want);
        limited += want == protocol::Error::LIMIT_EXCEEDED ? 1 : 0;
      } else if (op < 45) {
        registry.remove(c, path(p), kind);
        model.remove(r);
      } else if (op < 48) {
        registry.remove_client(c);
        model.remove_client(c);
      } else if (op < 55) {
        const auto persistent =
            prng.chance(1, 2) ? WatchKind::persistent : WatchKind::persistent_recursive;
        const Zxid from{prng.range(zxid.value() > 15 ? zxid.value() - 15 : 0, zxid.value())};
        auto got = registry.add_from(c, path(p), persistent, from, zxid);
        auto want = model.add_from({c, p, persistent}, from);
        REQUIRE(got.error() == want.first);
        compacted += want.first == protocol::Error::COMPACTED ? 1 : 0;
        if (got.ok()) {
          CHECK(got.value() == want.second);
          replayed += want.second.size();
        }
      } else {
        zxid = Zxid{zxid.value() + 1};
        std::vector<Event> events(prng.below(4));
        for (Event& e : events) {
          e = Event{types[prng.below(4)], paths[prng.below(std::size(paths))], zxid};
        }
        std::vector<Notification> got;
        std::vector<Notification> want;
        registry.on_applied(zxid, events, got);
        model.apply(zxid, events, want);
        REQUIRE(got == want);
        notified += got.size();
      }
      REQUIRE(registry.count() == model.registrations.size());
      REQUIRE(registry.count(c) == model.count(c));
      REQUIRE(registry.history_dropped_through() == model.dropped);
      registry.check_invariants();
    }
    CHECK(notified > 100);
  }
  // The runs exercised what they claim to.
  INFO("replayed ", replayed, ", compacted ", compacted, ", limited ", limited);
  CHECK(replayed > 100);
  CHECK(compacted > 100);
  CHECK(limited > 100);
}
