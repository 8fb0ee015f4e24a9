// SessionCore driven by a scripted fake server (fake_server.h).
#include <doctest/doctest.h>

#include "fake_server.h"

using namespace synod;
using namespace synod::client;
using namespace synod::client::test;

namespace {

const SessionId sid{41};

template <class T>
std::vector<T> only(const std::vector<Event>& events) {
  std::vector<T> out;
  for (const Event& e : events) {
    if (const auto* t = std::get_if<T>(&e)) out.push_back(*t);
  }
  return out;
}

}  // namespace

TEST_CASE("session: the first connection opens a session with the requested timeout") {
  Harness h(1);
  h.core().start(0);
  const std::size_t server = h.expect_connect();
  CHECK(server < 3);
  CHECK(h.no_actions());  // nothing is sent before the connection exists
  h.connected();
  const protocol::ClientRequest open = h.expect_send();
  const auto& body = std::get<protocol::OpenSessionRequest>(open.body);
  CHECK(body.timeout_ms == 9000);
  CHECK(!body.previous.has_value());
  h.answer(open, Zxid{3}, protocol::SessionResult{sid, 6000, 6000});
  const auto changes = only<SessionChanged>(h.events());
  REQUIRE(changes.size() == 1);
  CHECK(changes[0].status == SessionStatus::connected);
  CHECK(changes[0].session == sid);
  CHECK(h.core().session() == sid);
  CHECK(h.core().negotiated_timeout_ms() == 6000);
  CHECK(h.core().phase() == Phase::connected);
}

TEST_CASE("session: pipelined requests are all sent at once and complete in order") {
  Harness h(2);
  h.open(sid, 9000);
  const RequestId a = h.submit(get("/a"));
  const RequestId b = h.submit(set("/b", "x"));
  const RequestId c = h.submit(get("/c"));
  CHECK(a < b);
  CHECK(b < c);
  const auto ra = h.expect_send();
  const auto rb = h.expect_send();
  const auto rc = h.expect_send();
  CHECK(ra.request_id < rb.request_id);
  CHECK(rb.request_id < rc.request_id);
  CHECK(std::holds_alternative<protocol::WriteRequest>(rb.body));
  CHECK(h.core().outstanding() == 3);
  h.answer(ra, Zxid{5});
  h.answer(rb, Zxid{6}, protocol::StatResult{});
  h.answer(rc, Zxid{6});
  const auto done = h.completions();
  REQUIRE(done.size() == 3);
  CHECK(done[0].id == a);
  CHECK(done[1].id == b);
  CHECK(done[2].id == c);
  for (const Completed& d : done) CHECK(d.outcome == Outcome::ok);
  CHECK(h.core().outstanding() == 0);
}

TEST_CASE("session: last_zxid is the highest zxid in any response or watch event") {
  Harness h(3);
  h.open(sid, 9000, Zxid{4});
  CHECK(h.core().last_zxid() == Zxid{4});
  h.submit(get("/a"));
  h.submit(get("/b"));
  const auto ra = h.expect_send();
  const auto rb = h.expect_send();
  h.answer(ra, Zxid{10});
  CHECK(h.core().last_zxid() == Zxid{10});
  h.answer(rb, Zxid{7});  // an older answer never lowers it
  CHECK(h.core().last_zxid() == Zxid{10});
  h.watch(Zxid{12}, "/a");
  CHECK(h.core().last_zxid() == Zxid{12});
}

TEST_CASE("session: a drop backs off, then moves the session to the next server with last_zxid") {
  Harness h(4);
  const std::size_t first = h.open(sid, 9000, Zxid{20});
  h.now = 1000;
  h.disconnected();
  CHECK(only<SessionChanged>(h.events()).at(0).status == SessionStatus::disconnected);
  h.tick_to(1099);  // backoff_min is 100
  CHECK(h.no_actions());
  std::int64_t t = 1099;
  while (h.no_actions()) h.tick_to(++t);
  CHECK(t >= 1100);
  CHECK(t <= 1000 + 200);  // the first backoff is at most 2 * backoff_min
  CHECK(h.expect_connect() == (first + 1) % 3);
  h.connected();
  const auto open = h.expect_send();
  const auto& body = std::get<protocol::OpenSessionRequest>(open.body);
  REQUIRE(body.previous.has_value());
  CHECK(*body.previous == sid);
  CHECK(body.last_zxid == Zxid{20});
  h.answer(open, Zxid{20}, protocol::SessionResult{sid, 9000, 9000});
  const auto changes = only<SessionChanged>(h.events());
  REQUIRE(changes.size() == 1);
  CHECK(changes[0].status == SessionStatus::moved);
  CHECK(changes[0].server == (first + 1) % 3);
}

TEST_CASE("session: after a drop reads are re-sent with new wire ids; writes end unknown") {
  Harness h(5);
  h.open(sid, 9000);
  const RequestId read = h.submit(get("/r"));
  const RequestId write = h.submit(set("/w", "v"));
  const auto sent_read = h.expect_send();
  (void)h.expect_send();
  h.now = 100;
  h.disconnected();
  const auto lost = h.completions();
  REQUIRE(lost.size() == 1);
  CHECK(lost[0].id == write);
  CHECK(lost[0].outcome == Outcome::unknown);
  CHECK(lost[0].response.status.error == protocol::Error::CONNECTION_LOSS);
  const auto open = h.reconnect_to_move();
  CHECK(open.request_id > sent_read.request_id);
  CHECK(h.no_actions());  // nothing but the move before the session is attached
  h.answer(open, Zxid{2}, protocol::SessionResult{sid, 9000, 9000});
  const auto resent = h.expect_send();
  CHECK(std::holds_alternative<protocol::GetRequest>(resent.body));
  CHECK(resent.request_id > open.request_id);  // wire ids never repeat
  CHECK(h.no_actions());                       // the write is not re-sent
  h.answer(resent, Zxid{3});
  const auto done = h.completions();
  REQUIRE(done.size() == 1);
  CHECK(done[0].id == read);
  CHECK(done[0].outcome == Outcome::ok);
}

TEST_CASE("session: a read whose deadline passes while disconnected fails with TIMEOUT") {
  Harness h(6);
  h.open(sid, 9000);
  const RequestId read = h.submit(get("/r"));
  (void)h.expect_send();
  h.disconnected();
  CHECK(h.completions().empty());
  h.tick_to(4999);
  CHECK(h.completions().empty());
  h.tick_to(5000);  // request_timeout_ms after submit
  const auto done = h.completions();
  REQUIRE(done.size() == 1);
  CHECK(done[0].id == read);
  CHECK(done[0].response.status.error == protocol::Error::TIMEOUT);
  CHECK(done[0].outcome == Outcome::failed);
}

TEST_CASE("session: a timed-out write is unknown, a timed-out read definite; late answers drop") {
  Harness h(7);
  h.open(sid, 30000);
  const RequestId write = h.submit(set("/w", "v"));
  const RequestId read = h.submit(get("/r"));
  const auto rw = h.expect_send();
  const auto rr = h.expect_send();
  h.tick_to(5000);
  auto done = h.completions();
  REQUIRE(done.size() == 2);
  CHECK(done[0].id == write);
  CHECK(done[0].outcome == Outcome::unknown);
  CHECK(done[0].response.status.error == protocol::Error::TIMEOUT);
  CHECK(done[1].id == read);
  CHECK(done[1].outcome == Outcome::failed);
  h.answer(rw, Zxid{9}, protocol::StatResult{});
  h.answer(rr, Zxid{9});
  CHECK(h.completions().empty());  // each request completes exactly once
  CHECK(h.core().phase() == Phase::connected);
  CHECK(h.core().last_zxid() == Zxid{9});
}

TEST_CASE("session: a server's TIMEOUT answer is unknown for a write and definite for a read") {
  Harness h(8);
  h.open(sid, 9000);
  h.submit(set("/w", "v"));
  h.submit(get("/r"));
  h.submit(set("/n", "v"));
  const auto rw = h.expect_send();
  const auto rr = h.expect_send();
  const auto rn = h.expect_send();
  h.answer(rw, Zxid{2}, {}, protocol::Status{protocol::Error::TIMEOUT, "slow"});
  h.answer(rr, Zxid{2}, {}, protocol::Status{protocol::Error::TIMEOUT, "slow"});
  h.answer(rn, Zxid{2}, {}, protocol::Status{protocol::Error::NOT_LEADER, "no leader"});
  const auto done = h.completions();
  REQUIRE(done.size() == 3);
  CHECK(done[0].outcome == Outcome::unknown);
  CHECK(done[1].outcome == Outcome::failed);
  CHECK(done[2].outcome == Outcome::failed);
}

TEST_CASE("session: requests submitted before the session opens wait, bounded by waiting_max") {
  Harness h(9);
  h.core().start(0);
  (void)h.expect_connect();
  std::vector<RequestId> ids;
  for (int i = 0; i < 4; ++i) ids.push_back(h.submit(get("/q")));
  const RequestId refused = h.submit(get("/q"));
  auto done = h.completions();
  REQUIRE(done.size() == 1);
  CHECK(done[0].id == refused);
  CHECK(done[0].response.status.error == protocol::Error::LIMIT_EXCEEDED);
  CHECK(done[0].outcome == Outcome::failed);
  CHECK(h.core().waiting() == 4);
  h.connected();
  const auto open = h.expect_send();
  CHECK(h.no_actions());
  h.session = sid;
  h.answer(open, Zxid{1}, protocol::SessionResult{sid, 9000, 9000});
  for (int i = 0; i < 4; ++i)
    CHECK(std::holds_alternative<protocol::GetRequest>(h.expect_send().body));
  CHECK(h.core().waiting() == 0);
}

TEST_CASE("session: outstanding_max bounds the frames on the wire; answers make room") {
  Harness h(10);
  h.open(sid, 9000);
  for (int i = 0; i < 8; ++i) h.submit(get("/q"));
  std::vector<protocol::ClientRequest> sent;
  for (int i = 0; i < 8; ++i) sent.push_back(h.expect_send());
  h.submit(get("/q"));
  CHECK(h.no_actions());
  CHECK(h.core().outstanding() == 8);
  CHECK(h.core().waiting() == 1);
  h.answer(sent[0], Zxid{1});
  CHECK(std::holds_alternative<protocol::GetRequest>(h.expect_send().body));
  CHECK(h.core().outstanding() == 8);
}

TEST_CASE("session: keep-alives go out every timeout/3 while idle and never pile up") {
  Harness h(11);
  h.open(sid, 9000);  // sent at 0
  h.tick_to(2999);
  CHECK(h.no_actions());
  h.tick_to(3000);
  const auto ping = h.expect_send();
  CHECK(std::holds_alternative<protocol::KeepAliveRequest>(ping.body));
  h.tick_to(4000);
  h.tick_to(5999);
  CHECK(h.no_actions());  // one keep-alive in flight at a time
  h.answer(ping, Zxid{1}, protocol::SessionResult{sid, 9000, 9000});
  CHECK(h.events().empty());  // keep-alives are the core's own
  h.tick_to(6000);
  CHECK(std::holds_alternative<protocol::KeepAliveRequest>(h.expect_send().body));
}

TEST_CASE("session: keep-alives go out every timeout/3 while requests flow too") {
  Harness h(12);
  h.open(sid, 9000);
  h.now = 2000;
  h.submit(get("/a"));
  const auto r = h.expect_send();
  h.answer(r, Zxid{1});
  h.tick_to(2999);
  CHECK(h.no_actions());
  h.tick_to(3000);  // only a keep-alive's answer vouches for the session
  CHECK(std::holds_alternative<protocol::KeepAliveRequest>(h.expect_send().body));
}

TEST_CASE("session: safe_until is the send time of the latest answered keep-alive plus what it vouches") {
  Harness h(13);
  h.open(sid, 9000);  // the open was sent at 0 and answered
  CHECK(h.core().safe_until_ms() == 9000);
  h.now = 500;
  h.submit(get("/a"));
  const auto r = h.expect_send();
  h.answer(r, Zxid{1});
  CHECK(h.core().safe_until_ms() == 9000);  // a read's answer vouches for nothing
  h.tick_to(3000);  // the keep-alive
  const auto ping = h.expect_send();
  h.now = 3500;  // the answer's arrival time does not count, the send time does
  h.answer(ping, Zxid{1}, protocol::SessionResult{sid, 9000, 9000});
  CHECK(h.core().safe_until_ms() == 12000);
  h.tick_to(6500);  // the next keep-alive, 3000 after the last one was sent
  const auto less = h.expect_send();
  h.answer(less, Zxid{1}, protocol::SessionResult{sid, 9000, 4000});  // the server promises less
  CHECK(h.core().safe_until_ms() == 12000);  // 6500 + 4000 does not exceed it
  h.tick_to(9500);
  const auto failed = h.expect_send();
  h.answer(failed, Zxid{1}, {}, protocol::Status{protocol::Error::TIMEOUT, "no leader"});
  CHECK(h.core().safe_until_ms() == 12000);  // only OK answers vouch for the session
}

TEST_CASE("session: SESSION_EXPIRED on the move ends the session and fails what waits") {
  Harness h(14);
  h.open(sid, 9000);
  h.disconnected();
  const RequestId queued = h.submit(set("/w", "v"));
  const auto open = h.reconnect_to_move();
  h.answer(open, Zxid{5}, {}, protocol::Status{protocol::Error::SESSION_EXPIRED, "gone"});
  h.expect_close();
  const auto events = h.events();
  const auto done = only<Completed>(events);
  REQUIRE(done.size() == 1);
  CHECK(done[0].id == queued);
  CHECK(done[0].outcome == Outcome::failed);  // never sent
  CHECK(done[0].response.status.error == protocol::Error::SESSION_EXPIRED);
  CHECK(only<SessionChanged>(events).back().status == SessionStatus::expired);
  CHECK(h.core().phase() == Phase::expired);
  h.tick_to(h.now + 100000);
  CHECK(h.no_actions());  // no more reconnects
  const RequestId late = h.submit(get("/x"));
  const auto refused = h.completions();
  REQUIRE(refused.size() == 1);
  CHECK(refused[0].id == late);
  CHECK(refused[0].outcome == Outcome::failed);
}

TEST_CASE("session: an expiry event fails reads definitely and leaves sent writes unknown") {
  Harness h(15);
  h.open(sid, 9000);
  const RequestId write = h.submit(set("/w", "v"));
  const RequestId read = h.submit(get("/r"));
  (void)h.expect_send();
  (void)h.expect_send();
  h.session_event(protocol::SessionState::expired, "expired by the leader");
  h.expect_close();
  const auto events = h.events();
  const auto done = only<Completed>(events);
  REQUIRE(done.size() == 2);
  CHECK(done[0].id == write);
  CHECK(done[0].outcome == Outcome::unknown);  // applied before the expiry, perhaps
  CHECK(done[1].id == read);
  CHECK(done[1].outcome == Outcome::failed);
  CHECK(only<SessionChanged>(events).back().status == SessionStatus::expired);
}

TEST_CASE("session: a watch event is delivered before the response that follows it") {
  Harness h(16);
  h.open(sid, 9000);
  const RequestId read = h.submit(get("/a"));
  const auto r = h.expect_send();
  h.watch(Zxid{7}, "/a");
  h.answer(r, Zxid{8});
  const auto events = h.events();
  REQUIRE(events.size() == 2);
  REQUIRE(std::holds_alternative<WatchFired>(events[0]));
  CHECK(std::get<WatchFired>(events[0]).event.event.zxid == Zxid{7});
  REQUIRE(std::holds_alternative<Completed>(events[1]));
  CHECK(std::get<Completed>(events[1]).id == read);
}

TEST_CASE("session: an answer out of order closes the connection and reconnects") {
  Harness h(17);
  h.open(sid, 9000);
  h.submit(get("/a"));
  h.submit(get("/b"));
  (void)h.expect_send();
  const auto second = h.expect_send();
  h.answer(second, Zxid{1});
  h.expect_close();
  CHECK(h.core().phase() == Phase::backing_off);
  CHECK(h.core().waiting() == 2);  // both reads wait to be re-sent
}

TEST_CASE("session: a malformed frame closes the connection and reconnects to the next server") {
  Harness h(18);
  const std::size_t first = h.open(sid, 9000);
  h.frame(std::string("\x01\x02\x03garbage that is no flatbuffer", 32));
  h.expect_close();
  CHECK(h.core().phase() == Phase::backing_off);
  CHECK(h.core().server() == (first + 1) % 3);
  (void)h.reconnect_to_move();
}

TEST_CASE("session: a server that does not attach the session in connect_timeout is left") {
  Harness h(19);
  h.core().start(0);
  const std::size_t first = h.expect_connect();
  h.tick_to(999);
  CHECK(h.no_actions());
  h.tick_to(1000);
  h.expect_close();
  std::int64_t t = 1000;
  while (h.no_actions()) h.tick_to(++t);
  CHECK(h.expect_connect() == (first + 1) % 3);
  h.connected();
  const auto open = h.expect_send();  // still a fresh open: no session yet
  CHECK(!std::get<protocol::OpenSessionRequest>(open.body).previous.has_value());
}

TEST_CASE("session: a refused open (NOT_LEADER) tries the next server after a backoff") {
  Harness h(20);
  h.core().start(0);
  const std::size_t first = h.expect_connect();
  h.connected();
  const auto open = h.expect_send();
  h.answer(open, Zxid{0}, {}, protocol::Status{protocol::Error::NOT_LEADER, "no leader"});
  h.expect_close();
  const auto open_again = h.reconnect_to_move();
  CHECK(open_again.request_id > open.request_id);
  CHECK(h.core().server() == (first + 1) % 3);
}

TEST_CASE("session: backoff grows exponentially, stays within the maximum, and resets") {
  Harness h(21);
  h.core().start(0);
  std::vector<std::int64_t> delays;
  for (int i = 0; i < 8; ++i) {
    (void)h.expect_connect();
    h.disconnected();  // the connection attempt failed
    const std::int64_t from = h.now;
    while (h.no_actions()) h.tick_to(h.now + 1);
    delays.push_back(h.now - from);
  }
  for (std::size_t i = 0; i < delays.size(); ++i) {
    CHECK(delays[i] >= 100);
    CHECK(delays[i] <= std::min<std::int64_t>(800, 100 << (i + 1)));
  }
  CHECK(*std::max_element(delays.begin(), delays.end()) > 200);  // it grew
}

TEST_CASE("session: the same seed gives the same actions; another seed differs") {
  const auto run = [](std::uint64_t seed) {
    Harness h(seed);
    h.core().start(0);
    for (int i = 0; i < 6; ++i) {
      (void)h.expect_connect();
      h.disconnected();
      while (h.no_actions()) h.tick_to(h.now + 1);
    }
    return h.describe_actions();
  };
  CHECK(run(77) == run(77));
  bool any_differs = false;
  for (std::uint64_t seed = 78; seed < 88; ++seed) any_differs = any_differs || run(seed) != run(77);
  CHECK(any_differs);
}

TEST_CASE("session: close sends CloseSession after earlier requests and completes when answered") {
  Harness h(22);
  h.open(sid, 9000);
  const RequestId read = h.submit(get("/a"));
  const RequestId bye = h.core().close(h.now);
  const auto r = h.expect_send();
  const auto c = h.expect_send();
  CHECK(std::holds_alternative<protocol::CloseSessionRequest>(c.body));
  const RequestId after = h.submit(get("/b"));
  CHECK(h.completions().at(0).id == after);  // refused: the session is closing
  h.answer(r, Zxid{2});
  h.answer(c, Zxid{3});
  h.expect_close();
  const auto events = h.events();
  const auto done = only<Completed>(events);
  REQUIRE(done.size() == 2);
  CHECK(done[0].id == read);
  CHECK(done[1].id == bye);
  CHECK(done[1].outcome == Outcome::ok);
  CHECK(only<SessionChanged>(events).back().status == SessionStatus::closed);
  CHECK(h.core().phase() == Phase::closed);
}

TEST_CASE("session: submit refuses what the core does itself, with BAD_ARGUMENTS") {
  Harness h(23);
  h.open(sid, 9000);
  (void)h.submit(protocol::OpenSessionRequest{});
  (void)h.submit(protocol::KeepAliveRequest{});
  (void)h.submit(protocol::CloseSessionRequest{});
  const auto done = h.completions();
  REQUIRE(done.size() == 3);
  for (const Completed& d : done) {
    CHECK(d.response.status.error == protocol::Error::BAD_ARGUMENTS);
    CHECK(d.outcome == Outcome::failed);
  }
  CHECK(h.no_actions());
}

TEST_CASE("session: a silent server with requests outstanding is given up at 2/3 of the timeout") {
  Harness h(24);
  h.open(sid, 30000);
  h.submit(get("/a"));
  (void)h.expect_send();
  h.tick_to(4999);
  CHECK(h.core().phase() == Phase::connected);
  // request_timeout (5000) completes the read first; the silence rule then
  // gives up the connection at 20000.
  h.tick_to(19999);
  CHECK(h.core().phase() == Phase::connected);
  h.tick_to(20000);
  CHECK(h.core().phase() == Phase::backing_off);
}

TEST_CASE("session: a write too large for a frame fails definitely with TOO_LARGE") {
  Harness h(25);
  h.open(sid, 9000);
  const RequestId big = h.submit(set("/big", std::string(protocol::frame_bytes_max, 'x')));
  const auto done = h.completions();
  REQUIRE(done.size() == 1);
  CHECK(done[0].id == big);
  CHECK(done[0].response.status.error == protocol::Error::TOO_LARGE);
  CHECK(done[0].outcome == Outcome::failed);
  CHECK(h.no_actions());
}

TEST_CASE("session: frames after the core closed the connection are ignored") {
  Harness h(26);
  h.open(sid, 9000);
  h.submit(get("/a"));
  const auto r = h.expect_send();
  h.session_event(protocol::SessionState::moved, "attached elsewhere");
  h.expect_close();
  h.answer(r, Zxid{99});
  CHECK(h.core().last_zxid() == Zxid{1});
  CHECK(h.completions().empty());
  h.disconnected();  // a late report of the closed connection
  CHECK(h.core().phase() == Phase::backing_off);
}

TEST_CASE("session: next_wakeup names the next thing on_tick will do") {
  Harness h(27);
  h.open(sid, 9000);
  REQUIRE(h.core().next_wakeup_ms().has_value());
  CHECK(*h.core().next_wakeup_ms() == 3000);  // the keep-alive
  h.now = 100;
  h.submit(get("/a"));
  (void)h.expect_send();
  CHECK(*h.core().next_wakeup_ms() == 3000);  // a request does not delay the keep-alive
}

TEST_CASE("session: the secret from the open answer is sent on every move, never on an open") {
  Harness h(4);
  h.secret = SessionSecret{0xabcull, 0xdefull};
  h.core().start(h.now);
  (void)h.expect_connect();
  h.connected();
  const auto first = h.expect_send();
  CHECK(std::get<protocol::OpenSessionRequest>(first.body).secret == SessionSecret{});
  h.answer(first, Zxid{5}, protocol::SessionResult{sid, 9000, 9000, h.secret});
  REQUIRE(h.core().phase() == Phase::connected);
  for (int move = 0; move < 2; ++move) {
    h.now += 1000;
    h.disconnected();
    const auto open = h.reconnect_to_move();
    const auto& body = std::get<protocol::OpenSessionRequest>(open.body);
    REQUIRE(body.previous.has_value());
    CHECK(body.secret == h.secret);
    h.answer(open, Zxid{5}, protocol::SessionResult{sid, 9000, 9000, h.secret});
    REQUIRE(h.core().phase() == Phase::connected);
  }
}

TEST_CASE("session: a SESSION_MOVED answer gives the connection up and moves the session on") {
  Harness h(15);
  h.secret = SessionSecret{3, 4};
  h.open(sid, 9000);
  (void)h.submit(get("/x"));
  const auto read = h.expect_send();
  h.answer(read, Zxid{5}, {}, protocol::Status{protocol::Error::SESSION_MOVED, "elsewhere"});
  h.expect_close();
  CHECK(h.core().phase() != Phase::expired);
  const auto open = h.reconnect_to_move();
  const auto& body = std::get<protocol::OpenSessionRequest>(open.body);
  REQUIRE(body.previous.has_value());
  CHECK(*body.previous == sid);
  CHECK(body.secret == h.secret);
}
