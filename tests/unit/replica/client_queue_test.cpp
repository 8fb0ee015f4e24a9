#include "server/replica/client_queue.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <deque>
#include <map>
#include <vector>

#include "base/prng.h"

using namespace synod;
using replica::ClientQueue;
using replica::Turn;

namespace {

constexpr std::uint32_t pending_max = 8;
constexpr std::int64_t timeout_ms = 1000;

protocol::ClientBody get_body() {
  return protocol::GetRequest{protocol::Path::root(), false, protocol::ReadMode::linearizable};
}

codec::LogCommand write_command(SessionId session, std::uint64_t sequence) {
  return codec::LogCommand{0, session, sequence, store::CloseSessionCommand{session}};
}

protocol::Response ok_at(std::uint64_t request_id, std::uint64_t zxid) {
  return protocol::Response{request_id, Zxid{zxid}, {}, {}};
}

// Answers the head read at `zxid` and pops it; returns the request id sent.
std::uint64_t serve_read(ClientQueue& q, std::uint64_t zxid) {
  REQUIRE(q.turn(Slot{zxid}) == Turn::read);
  q.answer_head(ok_at(q.head_request_id(), zxid));
  REQUIRE(q.turn(Slot{zxid}) == Turn::answer);
  return q.pop_answer().request_id;
}

}  // namespace

TEST_CASE("client queue: a sequential read is served at the head; a linearizable one waits for "
          "its read index, then for the replica to apply it") {
  ClientQueue q(pending_max, timeout_ms);
  CHECK(q.turn(Slot{0}) == Turn::idle);
  q.push_read(1, 0, get_body(), false);
  CHECK(serve_read(q, 3) == 1);
  q.push_read(2, 0, get_body(), true);
  CHECK(q.turn(Slot{3}) == Turn::blocked);  // no index yet
  const std::vector<std::uint64_t> round{2};
  q.assign_read_index(round, Slot{5});
  CHECK(q.turn(Slot{4}) == Turn::waits_for_apply);
  CHECK(serve_read(q, 5) == 2);
  CHECK(q.turn(Slot{5}) == Turn::idle);
  q.check_invariants();
}

TEST_CASE("client queue: a write behind an unanswered read is proposed only once the read is "
          "answered, so the read never sees it") {
  ClientQueue q(pending_max, timeout_ms);
  const SessionId s{4};
  q.push_read(1, 0, get_body(), true);
  q.push_write(2, 0, write_command(s, 2));
  q.push_write(3, 0, write_command(s, 3));
  CHECK(q.take_proposable().empty());
  q.check_invariants();
  const std::vector<std::uint64_t> round{1};
  q.assign_read_index(round, Slot{0});
  CHECK(serve_read(q, 0) == 1);
  const std::vector<replica::ProposableWrite> writes = q.take_proposable();
  REQUIRE(writes.size() == 2);
  CHECK(writes[0].request_id == 2);
  CHECK(writes[1].request_id == 3);
  CHECK(writes[1].command.sequence == 3);
  CHECK(q.take_proposable().empty());  // each is handed on once
  CHECK(q.turn(Slot{9}) == Turn::blocked);
  q.check_invariants();
}

TEST_CASE("client queue: answers leave in arrival order, whatever order they are ready in") {
  ClientQueue q(pending_max, timeout_ms);
  const SessionId s{4};
  q.push_write(1, 0, write_command(s, 1));
  q.push_write(2, 0, write_command(s, 2));
  CHECK(q.take_proposable().size() == 2);
  REQUIRE(q.answer_write(2, ok_at(2, 7), false));
  CHECK(q.turn(Slot{7}) == Turn::blocked);  // request 1 is still in flight
  REQUIRE(q.answer_write(1, ok_at(1, 6), false));
  CHECK(q.pop_answer().request_id == 1);
  CHECK(q.pop_answer().request_id == 2);
  CHECK(q.last_zxid() == Zxid{7});
  CHECK_FALSE(q.answer_write(1, ok_at(1, 6), false));  // answered once
}

TEST_CASE("client queue: an answer of no zxid of its own carries the last one sent") {
  ClientQueue q(pending_max, timeout_ms);
  q.push_read(1, 0, get_body(), false);
  CHECK(serve_read(q, 9) == 1);
  q.push_answer(2, 0, ok_at(2, 3));  // stamped with an older applied point
  const protocol::Response restamped = q.pop_answer();
  CHECK(restamped.zxid == Zxid{9});
  CHECK(q.last_zxid() == Zxid{9});
}

TEST_CASE("client queue: a moved session answers nothing before what the client had seen is "
          "applied") {
  ClientQueue q(pending_max, timeout_ms);
  q.move_session_here(SessionId{3}, Zxid{20});
  CHECK(q.session() == SessionId{3});
  CHECK(q.wait_for() == Slot{20});
  q.push_answer(1, 0, ok_at(1, 0));
  CHECK(q.turn(Slot{19}) == Turn::waits_for_apply);
  CHECK(q.turn(Slot{20}) == Turn::answer);
  CHECK(q.pop_answer().zxid == Zxid{20});  // never below what the client had seen
  q.end_session();
  CHECK(q.session() == SessionId{0});
}

TEST_CASE("client queue: an answered open makes its session the connection's") {
  ClientQueue q(pending_max, timeout_ms);
  q.push_write(1, 0, codec::LogCommand{0, SessionId{0}, 77, store::OpenSessionCommand{5000}});
  CHECK(q.take_proposable().size() == 1);
  protocol::Response opened = ok_at(1, 1);
  opened.body = protocol::SessionResult{SessionId{12}, 5000, 5000};
  REQUIRE(q.answer_write(1, opened, false));
  CHECK(q.session() == SessionId{12});
}

TEST_CASE("client queue: requests past their deadline are answered TIMEOUT, in order, and a "
          "proposed write is handed back") {
  ClientQueue q(pending_max, timeout_ms);
  const SessionId s{4};
  q.push_write(1, 0, write_command(s, 1));
  CHECK(q.take_proposable().size() == 1);
  q.push_read(2, 10, get_body(), true);
  q.push_write(3, 10, write_command(s, 3));  // waits behind the read
  q.push_read(4, 500, get_body(), true);
  CHECK_FALSE(q.expire(timeout_ms - 1, Zxid{0}).any);
  const replica::Expiry expiry = q.expire(10 + timeout_ms, Zxid{5});
  CHECK(expiry.any);
  REQUIRE(expiry.proposed.size() == 1);
  CHECK(expiry.proposed[0].request_id == 1);
  CHECK(expiry.proposed[0].key == replica::WriteKey{s, 1});
  for (std::uint64_t id = 1; id <= 3; ++id) {
    REQUIRE(q.turn(Slot{5}) == Turn::answer);
    const protocol::Response r = q.pop_answer();
    CHECK(r.request_id == id);
    CHECK(r.status.error == protocol::Error::TIMEOUT);
  }
  CHECK(q.turn(Slot{5}) == Turn::blocked);  // request 4 is still in time
  CHECK(q.size() == 1);
  q.check_invariants();
}

TEST_CASE("client queue: holds pending_max requests, then is full") {
  ClientQueue q(pending_max, timeout_ms);
  for (std::uint64_t id = 1; id <= pending_max; ++id) {
    CHECK_FALSE(q.full());
    q.push_read(id, 0, get_body(), true);
  }
  CHECK(q.full());
  q.check_invariants();
}

namespace {

// Drives one queue as the replica does, with random arrivals, proposals,
// applies, read indexes and timeouts, and checks what leaves against the
// arrival order. Request ids are the arrival order.
struct RandomHistory {
  enum class Kind { read, write, answered };
  struct Model {
    Kind kind;
    std::int64_t arrival_ms = 0;
    bool done = false;  // answered, or (a write) proposed
  };

  explicit RandomHistory(std::uint64_t seed) : prng(seed) {}

  void arrive() {
    const std::uint64_t id = next_id++;
    order.push_back(id);
    const std::uint64_t kind = prng.below(3);
    if (kind == 0) {
      q.push_read(id, now, get_body(), prng.chance(1, 2));
      waiting[id] = {Kind::read, now};
    } else if (kind == 1) {
      q.push_write(id, now, write_command(SessionId{1}, id));
      waiting[id] = {Kind::write, now};
    } else {
      q.push_answer(id, now, ok_at(id, applied));
      waiting[id] = {Kind::answered, now, true};
    }
  }

  void propose() {
    for (const replica::ProposableWrite& w : q.take_proposable()) {
      for (const auto& [id, m] : waiting) {
        if (id >= w.request_id) break;
        CHECK_MESSAGE(m.done, "a write was proposed behind an unanswered read");
      }
      waiting[w.request_id].done = true;
      in_flight.push_back(w.request_id);
      ++proposed;
    }
  }

  // The oldest write in flight applies next; any other is refused (chosen
  // out of order), an answer of no zxid of its own.
  void apply_one() {
    if (in_flight.empty()) return;
    const std::size_t pick = prng.chance(1, 4) ? prng.below(in_flight.size()) : 0;
    const std::uint64_t id = in_flight[pick];
    in_flight.erase(in_flight.begin() + static_cast<std::ptrdiff_t>(pick));
    applied += 1 + prng.below(3);
    (void)q.answer_write(id, ok_at(id, applied), pick != 0);
  }

  void confirm_some_reads() {
    std::vector<std::uint64_t> ids;
    for (const auto& [id, m] : waiting) {
      if (m.kind == Kind::read && prng.chance(1, 2)) ids.push_back(id);
    }
    q.assign_read_index(ids, Slot{applied});
  }

  void expire() {
    for (const replica::ExpiredWrite& w : q.expire(now, Zxid{applied}).proposed) {
      std::erase(in_flight, w.request_id);
    }
    for (auto& [id, m] : waiting) m.done = m.done || m.arrival_ms + timeout_ms <= now;
  }

  void pump() {
    for (;;) {
      const Turn turn = q.turn(Slot{applied});
      if (turn == Turn::read) {
        q.answer_head(ok_at(q.head_request_id(), applied));
      } else if (turn != Turn::answer) {
        break;
      }
      const Zxid before = q.last_zxid();
      const protocol::Response r = q.pop_answer();
      CHECK(r.zxid >= before);
      REQUIRE_FALSE(order.empty());
      CHECK(r.request_id == order.front());
      order.pop_front();
      waiting.erase(r.request_id);
      std::erase(in_flight, r.request_id);
      ++sent;
      if (r.status.error == protocol::Error::TIMEOUT) ++timed_out;
    }
  }

  void step() {
    now += static_cast<std::int64_t>(prng.below(50));
    const std::uint64_t op = prng.below(8);
    if (op < 3 && !q.full()) arrive();
    if (op == 3) propose();
    if (op == 4) apply_one();
    if (op == 5) confirm_some_reads();
    if (op == 6) expire();
    pump();
    CHECK(q.size() == order.size());
    q.check_invariants();
  }

  base::Prng prng;
  ClientQueue q{pending_max, timeout_ms};
  std::map<std::uint64_t, Model> waiting;  // not yet sent
  std::deque<std::uint64_t> order;         // request ids not yet sent
  std::vector<std::uint64_t> in_flight;    // proposed, not yet applied
  std::uint64_t next_id = 1, applied = 0;
  std::int64_t now = 0;
  std::uint64_t proposed = 0, sent = 0, timed_out = 0;
};

}  // namespace

TEST_CASE("client queue: random histories keep arrival order, never propose a write behind an "
          "unanswered read, and never send a zxid that goes back") {
  std::uint64_t proposed = 0, sent = 0, timed_out = 0;
  for (std::uint64_t seed = 1; seed <= 40; ++seed) {
    CAPTURE(seed);
    RandomHistory h(seed);
    for (int step = 0; step < 500; ++step) h.step();
    proposed += h.proposed;
    sent += h.sent;
    timed_out += h.timed_out;
  }
  // The histories reach every path: proposals, answers and timeouts.
  CHECK(proposed > 100);
  CHECK(sent > 1000);
  CHECK(timed_out > 100);
}

TEST_CASE("client queue: a refused move's unproposed writes are answered, never proposed") {
  ClientQueue q(pending_max, timeout_ms);
  const SessionId stolen{9};
  q.move_session_here(stolen, Zxid{0});
  q.push_read(1, 0, get_body(), true);                   // the move's read
  q.push_write(2, 0, write_command(stolen, 2));          // queued as the session
  q.push_write(3, 0, write_command(SessionId{5}, 3));    // another session's: kept
  CHECK(q.take_proposable().empty());
  q.end_session();
  const protocol::Status refused{protocol::Error::SESSION_EXPIRED, "session 9: no"};
  q.refuse_unproposed_writes(stolen, Zxid{4}, refused);
  q.check_invariants();
  const std::uint64_t move_read[] = {1};
  q.assign_read_index(move_read, Slot{4});
  CHECK(serve_read(q, 4) == 1);
  REQUIRE(q.turn(Slot{4}) == Turn::answer);
  const protocol::Response second = q.pop_answer();
  CHECK(second.request_id == 2);
  CHECK(second.status.error == protocol::Error::SESSION_EXPIRED);
  const auto proposable = q.take_proposable();
  REQUIRE(proposable.size() == 1);
  CHECK(proposable[0].request_id == 3);
}
