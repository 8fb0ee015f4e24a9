// SessionCore's watches across a move (issue 14 point 12): every kind is set
// again on the new server, before anything else; one-shot watches that fired
// are not; a refused resume reaches the watcher as a compacted event.
#include <doctest/doctest.h>

#include "fake_server.h"

using namespace synod;
using namespace synod::client;
using namespace synod::client::test;
using protocol::WatchKind;

namespace {

const SessionId sid{7};

protocol::Stat stat_at(std::uint64_t zxid) {
  protocol::Stat s;
  s.czxid = Zxid{zxid};
  s.mzxid = Zxid{zxid};
  s.pzxid = Zxid{zxid};
  return s;
}

// Submits `body`, answers it at `zxid` with `body_answer` / `status`.
void ask(Harness& h, protocol::ClientBody body, Zxid zxid, protocol::ResultBody answer = {},
         protocol::Status status = {}) {
  (void)h.submit(std::move(body));
  h.answer(h.expect_send(), zxid, std::move(answer), std::move(status));
  (void)h.events();
}

protocol::ClientBody get_watch(const std::string& p) {
  return protocol::GetRequest{path(p), true, protocol::ReadMode::linearizable};
}
protocol::ClientBody exists_watch(const std::string& p) {
  return protocol::ExistsRequest{path(p), true, protocol::ReadMode::linearizable};
}
protocol::ClientBody children_watch(const std::string& p) {
  return protocol::ChildrenRequest{path(p), true, protocol::ReadMode::linearizable, "", 100};
}
protocol::ClientBody set_watch(const std::string& p, WatchKind kind,
                               std::optional<Zxid> from = std::nullopt) {
  return protocol::SetWatchRequest{path(p), kind, from};
}

// Drops the connection and moves the session, answered at `zxid`.
void move(Harness& h, Zxid zxid) {
  h.disconnected();
  const auto open = h.reconnect_to_move();
  h.answer(open, zxid, protocol::SessionResult{sid, 9000, 9000});
}

// The SetWatchRequests sent next, in order, until something else or nothing.
std::vector<std::pair<protocol::ClientRequest, protocol::SetWatchRequest>> rewatches(Harness& h) {
  std::vector<std::pair<protocol::ClientRequest, protocol::SetWatchRequest>> out;
  while (!h.no_actions()) {
    const auto sent = h.expect_send();
    const auto* w = std::get_if<protocol::SetWatchRequest>(&sent.body);
    REQUIRE(w != nullptr);
    out.emplace_back(sent, *w);
  }
  return out;
}

std::vector<protocol::WatchEvent> fired(Harness& h) {
  std::vector<protocol::WatchEvent> out;
  for (const Event& e : h.events()) {
    if (const auto* w = std::get_if<WatchFired>(&e)) out.push_back(w->event);
  }
  return out;
}

}  // namespace

TEST_CASE(
    "watches: a move sets every kind again, as of the last zxid before the move, before "
    "anything else") {
  Harness h(1);
  h.open(sid, 9000);
  ask(h, get_watch("/d"), Zxid{2}, protocol::DataResult{"x", stat_at(2), {}, 0});
  ask(h, exists_watch("/gone"), Zxid{3}, {}, protocol::Status{protocol::Error::NO_NODE, "none"});
  ask(h, exists_watch("/e"), Zxid{3}, protocol::StatResult{stat_at(1)});
  ask(h, children_watch("/c"), Zxid{4}, protocol::ChildrenResult{});
  ask(h, set_watch("/p", WatchKind::persistent), Zxid{5});
  ask(h, set_watch("/r", WatchKind::persistent_recursive, Zxid{1}), Zxid{6});
  REQUIRE(h.core().watches().size() == 6);
  h.disconnected();
  const RequestId waiting = h.submit(get("/later"));
  const auto open = h.reconnect_to_move();
  CHECK(open.request_id > 0);
  // The new server has applied up to 9; events after 6 may never have come.
  h.answer(open, Zxid{9}, protocol::SessionResult{sid, 9000, 9000});
  std::vector<std::pair<std::string, WatchKind>> sent;
  for (int i = 0; i < 6; ++i) {
    const auto request = h.expect_send();
    const auto* w = std::get_if<protocol::SetWatchRequest>(&request.body);
    REQUIRE(w != nullptr);
    CHECK(w->from_zxid == Zxid{6});
    sent.emplace_back(w->path.text(), w->kind);
  }
  // In path order; an exists watch on a node that existed comes as a data watch.
  const std::vector<std::pair<std::string, WatchKind>> want{
      {"/c", WatchKind::children},   {"/d", WatchKind::data},
      {"/e", WatchKind::data},       {"/gone", WatchKind::exists},
      {"/p", WatchKind::persistent}, {"/r", WatchKind::persistent_recursive}};
  CHECK(sent == want);
  const auto later = h.expect_send();  // then what waited
  CHECK(std::holds_alternative<protocol::GetRequest>(later.body));
  CHECK(h.no_actions());
  (void)waiting;
}

TEST_CASE("watches: a one-shot watch that fired, or was removed, is not set again") {
  Harness h(2);
  h.open(sid, 9000);
  ask(h, get_watch("/d"), Zxid{2}, protocol::DataResult{"x", stat_at(2), {}, 0});
  ask(h, children_watch("/c"), Zxid{2}, protocol::ChildrenResult{});
  ask(h, set_watch("/p", WatchKind::persistent), Zxid{2});
  h.watch(Zxid{3}, "/d");  // data_changed /d: the data watch fired
  CHECK(fired(h).size() == 1);
  ask(h, protocol::RemoveWatchRequest{path("/p"), WatchKind::persistent}, Zxid{3});
  move(h, Zxid{3});
  const auto again = rewatches(h);
  REQUIRE(again.size() == 1);
  CHECK(again[0].second.path.text() == "/c");
  CHECK(again[0].second.kind == WatchKind::children);
}

TEST_CASE(
    "watches: the event a set-again one-shot watch fires is delivered, and the watch is "
    "then gone") {
  Harness h(3);
  h.open(sid, 9000);
  ask(h, get_watch("/d"), Zxid{2}, protocol::DataResult{"x", stat_at(2), {}, 0});
  move(h, Zxid{5});
  const auto again = rewatches(h);
  REQUIRE(again.size() == 1);
  // The new server saw /d changed at zxid 4: the event comes before the answer.
  h.watch(Zxid{4}, "/d");
  h.answer(again[0].first, Zxid{5}, protocol::StatResult{stat_at(4)});
  const auto events = fired(h);
  REQUIRE(events.size() == 1);
  CHECK(events[0].event.path == "/d");
  CHECK(h.core().watches().size() == 0);
  move(h, Zxid{5});
  CHECK(rewatches(h).empty());
}

TEST_CASE(
    "watches: a resume answered COMPACTED reaches the watcher as a compacted event, and "
    "the watch is not set again") {
  Harness h(4);
  h.open(sid, 9000);
  ask(h, set_watch("/r", WatchKind::persistent_recursive), Zxid{2});
  ask(h, set_watch("/p", WatchKind::persistent), Zxid{2});
  move(h, Zxid{8});
  const auto again = rewatches(h);
  REQUIRE(again.size() == 2);
  h.answer(again[0].first, Zxid{8});  // /p resumes
  h.answer(again[1].first, Zxid{8}, {},
           protocol::Status{protocol::Error::COMPACTED, "history after zxid 8 is gone"});
  const auto events = fired(h);
  REQUIRE(events.size() == 1);
  CHECK(events[0].event.type == protocol::EventType::compacted);
  CHECK(events[0].event.path == "/r");
  CHECK(events[0].event.zxid == Zxid{2});  // as of the zxid before the move
  CHECK(events[0].watch_path.text() == "/r");
  CHECK(events[0].watch_kind == WatchKind::persistent_recursive);
  CHECK(h.core().phase() == Phase::connected);  // the session goes on
  move(h, Zxid{8});
  const auto next = rewatches(h);
  REQUIRE(next.size() == 1);
  CHECK(next[0].second.path.text() == "/p");
}

TEST_CASE("watches: rewatches cut off by another drop go once on the next move") {
  ClientOptions o = test_options();
  o.outstanding_max = 1;  // one in flight: the second rewatch still waits
  Harness h(5, o);
  h.open(sid, 9000);
  ask(h, set_watch("/a", WatchKind::persistent), Zxid{2});
  ask(h, set_watch("/b", WatchKind::persistent), Zxid{2});
  move(h, Zxid{3});
  (void)h.expect_send();  // /a in flight, /b waiting
  CHECK(h.no_actions());
  move(h, Zxid{3});
  const auto first = h.expect_send();
  CHECK(std::get<protocol::SetWatchRequest>(first.body).path.text() == "/a");
  h.answer(first, Zxid{3});
  const auto second = h.expect_send();
  CHECK(std::get<protocol::SetWatchRequest>(second.body).path.text() == "/b");
  h.answer(second, Zxid{3});
  CHECK(h.no_actions());
}

TEST_CASE(
    "watches: a move before the last move's rewatches were answered sets them again as "
    "of the zxid before the first move, not the open answered in between") {
  Harness h(7);
  h.open(sid, 9000);
  ask(h, set_watch("/a", WatchKind::persistent), Zxid{2});
  move(h, Zxid{9});  // the first new server had applied 9; /a's events after 2 never came
  const auto cut = rewatches(h);
  REQUIRE(cut.size() == 1);
  CHECK(cut[0].second.from_zxid == Zxid{2});
  // The connection drops before that rewatch is answered: last_zxid is 9 now.
  move(h, Zxid{11});
  const auto again = rewatches(h);
  REQUIRE(again.size() == 1);
  CHECK(again[0].second.from_zxid == Zxid{2});
  h.answer(again[0].first, Zxid{11});
  // Answered: the next move is as of the last zxid before it again.
  move(h, Zxid{12});
  const auto later = rewatches(h);
  REQUIRE(later.size() == 1);
  CHECK(later[0].second.from_zxid == Zxid{11});
}

TEST_CASE("watches: a one-shot SetWatch from a zxid is refused; the core alone sends that form") {
  Harness h(6);
  h.open(sid, 9000);
  (void)h.submit(set_watch("/d", WatchKind::data, Zxid{1}));
  CHECK(h.no_actions());
  const auto done = h.completions();
  REQUIRE(done.size() == 1);
  CHECK(done[0].response.status.error == protocol::Error::BAD_ARGUMENTS);
  CHECK(done[0].outcome == Outcome::failed);
}

TEST_CASE("watches: the trigger table matches the server's") {
  const auto event = [](protocol::EventType t, const char* p) {
    return protocol::Event{t, p, Zxid{1}};
  };
  using protocol::EventType;
  CHECK(watch_fires(WatchKind::data, "/a", event(EventType::data_changed, "/a")));
  CHECK(watch_fires(WatchKind::data, "/a", event(EventType::deleted, "/a")));
  CHECK_FALSE(watch_fires(WatchKind::data, "/a", event(EventType::children_changed, "/a")));
  CHECK(watch_fires(WatchKind::exists, "/a", event(EventType::created, "/a")));
  CHECK_FALSE(watch_fires(WatchKind::exists, "/a", event(EventType::children_changed, "/a")));
  CHECK(watch_fires(WatchKind::children, "/a", event(EventType::children_changed, "/a")));
  CHECK_FALSE(watch_fires(WatchKind::children, "/a", event(EventType::data_changed, "/a")));
  CHECK(watch_fires(WatchKind::persistent, "/a", event(EventType::children_changed, "/a")));
  CHECK_FALSE(watch_fires(WatchKind::persistent, "/a", event(EventType::created, "/a/b")));
  CHECK(watch_fires(WatchKind::persistent_recursive, "/a", event(EventType::created, "/a/b")));
  CHECK_FALSE(watch_fires(WatchKind::persistent_recursive, "/a", event(EventType::created, "/ab")));
  CHECK_FALSE(
      watch_fires(WatchKind::persistent_recursive, "/a", event(EventType::children_changed, "/a")));
  CHECK_FALSE(watch_fires(WatchKind::persistent, "/a", event(EventType::compacted, "/a")));
}
