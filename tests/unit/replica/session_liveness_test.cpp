#include "server/replica/session_liveness.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

using namespace synod;
using replica::SessionLiveness;

namespace {

constexpr std::int64_t retry_ms = 100;
constexpr std::uint32_t report_ticks = 3;

// A store with `count` sessions of `timeout_ms` each (ids 1..count), and a
// liveness that mirrors it.
struct Mirror {
  store::Store store;
  SessionLiveness liveness{retry_ms, report_ticks};
  std::uint64_t zxid = 0;

  explicit Mirror(int count, std::int64_t timeout_ms = 1000) {
    for (int i = 0; i < count; ++i) {
      const store::ApplyResult r =
          store.apply(Zxid{++zxid}, 0, store::OpenSessionCommand{timeout_ms});
      REQUIRE(r.response.status.ok());
    }
    liveness.reload(store.sessions());
    liveness.check_invariants(store);
  }
};

std::vector<SessionId> ids(std::initializer_list<std::uint64_t> values) {
  std::vector<SessionId> out;
  for (const std::uint64_t v : values) out.push_back(SessionId{v});
  return out;
}

}  // namespace

TEST_CASE("session liveness: a new leader gives every session a fresh timeout before any "
          "expires") {
  Mirror m(3);
  CHECK(m.liveness.became_leader(5000) == 3);
  CHECK(m.liveness.due_for_expiry(5999, 100).empty());
  CHECK(m.liveness.due_for_expiry(6000, 100).empty());  // at the deadline: still alive
  CHECK(m.liveness.due_for_expiry(6001, 100) == ids({1, 2, 3}));
  m.liveness.check_invariants(m.store);
}

TEST_CASE("session liveness: a session heard from at the leader outlives a silent one") {
  Mirror m(2);
  (void)m.liveness.became_leader(0);
  m.liveness.note_active(SessionId{2}, true, 800);  // deadline 1800
  CHECK(m.liveness.due_for_expiry(1001, 100) == ids({1}));
  m.liveness.forget(SessionId{1});  // its expiry applied
  CHECK(m.liveness.due_for_expiry(1800, 100).empty());
  CHECK(m.liveness.due_for_expiry(1801, 100) == ids({2}));
}

TEST_CASE("session liveness: a lost expiry proposal is made again after retry_ms, not before") {
  Mirror m(1);
  (void)m.liveness.became_leader(0);
  CHECK(m.liveness.due_for_expiry(1001, 100) == ids({1}));
  CHECK(m.liveness.due_for_expiry(1001 + retry_ms - 1, 100).empty());
  CHECK(m.liveness.due_for_expiry(1001 + retry_ms, 100) == ids({1}));
  // Once applied, the session is forgotten and never proposed again.
  m.liveness.forget(SessionId{1});
  CHECK(m.liveness.due_for_expiry(5000, 100).empty());
  CHECK_FALSE(m.liveness.knows(SessionId{1}));
}

TEST_CASE("session liveness: an opened session gets a deadline at the leader only") {
  Mirror m(0);
  m.liveness.opened(SessionId{7}, 500, false, 0);
  CHECK(m.liveness.timeout_ms(SessionId{7}) == 500);
  CHECK(m.liveness.due_for_expiry(10'000, 100).empty());  // a follower's open: no deadline
  m.liveness.opened(SessionId{8}, 500, true, 10'000);
  CHECK(m.liveness.due_for_expiry(10'501, 100) == ids({8}));
}

TEST_CASE("session liveness: a follower reports what it heard every report_ticks ticks") {
  Mirror m(3);
  m.liveness.note_active(SessionId{3}, false, 0);
  m.liveness.note_active(SessionId{1}, false, 0);
  m.liveness.note_active(SessionId{9}, false, 0);  // unknown: ignored
  for (std::uint32_t i = 1; i < report_ticks; ++i) CHECK_FALSE(m.liveness.follower_tick());
  auto report = m.liveness.follower_tick();
  REQUIRE(report.has_value());
  CHECK(*report == std::vector<std::uint64_t>{1, 3});
  // The Touch did not leave (no leader known): the next report repeats it.
  for (std::uint32_t i = 1; i < report_ticks; ++i) CHECK_FALSE(m.liveness.follower_tick());
  report = m.liveness.follower_tick();
  REQUIRE(report.has_value());
  m.liveness.reported();
  for (std::uint32_t i = 0; i < 2 * report_ticks; ++i) CHECK_FALSE(m.liveness.follower_tick());
}

TEST_CASE("session liveness: a follower keeps no deadlines") {
  Mirror m(1);
  (void)m.liveness.became_leader(0);
  (void)m.liveness.follower_tick();  // leadership was lost
  CHECK(m.liveness.due_for_expiry(10'000, 100).empty());
}

TEST_CASE("session liveness: a read-index round carries the touched sessions; a failed one "
          "gives them back") {
  Mirror m(2);
  m.liveness.note_active(SessionId{2}, false, 0);
  m.liveness.note_active(SessionId{1}, false, 0);
  const std::vector<SessionId> carried = m.liveness.take_touched();
  CHECK(carried == ids({1, 2}));
  CHECK(m.liveness.take_touched().empty());
  m.liveness.touch_again(carried);
  CHECK(m.liveness.take_touched() == ids({1, 2}));
}

TEST_CASE("session liveness: one TTL removal in flight, the next after it applied or retry_ms") {
  SessionLiveness liveness(retry_ms, report_ticks);
  CHECK(liveness.ttl_removal_due(0));
  liveness.ttl_removal_proposed(10);
  CHECK_FALSE(liveness.ttl_removal_due(10 + retry_ms - 1));
  CHECK(liveness.ttl_removal_due(10 + retry_ms));
  liveness.ttl_removal_applied();
  CHECK(liveness.ttl_removal_due(11));
  liveness.ttl_removal_proposed(20);
  (void)liveness.became_leader(30);  // a new leader starts afresh
  CHECK(liveness.ttl_removal_due(30));
}

TEST_CASE("session liveness: the mirror follows the store through opens, closes and a reload") {
  Mirror m(2, 3000);
  const store::ApplyResult opened =
      m.store.apply(Zxid{++m.zxid}, 0, store::OpenSessionCommand{4000});
  REQUIRE(opened.response.status.ok());
  m.liveness.opened(opened.response.session, 4000, true, 0);
  m.liveness.check_invariants(m.store);
  const store::ApplyResult closed =
      m.store.apply(Zxid{++m.zxid}, 0, store::CloseSessionCommand{SessionId{1}}, 1);
  REQUIRE(closed.response.status.ok());
  m.liveness.forget(SessionId{1});
  m.liveness.check_invariants(m.store);
  CHECK(m.liveness.count() == 2);
  CHECK(m.liveness.timeout_ms(SessionId{2}) == 3000);
  m.liveness.reload(m.store.sessions());
  m.liveness.check_invariants(m.store);
}

TEST_CASE("session liveness: a session heard from while its expiry proposal was lost is not "
          "proposed again, and expires later by its new deadline") {
  Mirror m(1);
  (void)m.liveness.became_leader(0);
  CHECK(m.liveness.due_for_expiry(1001, 100) == ids({1}));  // proposed; the proposal is lost
  m.liveness.note_active(SessionId{1}, true, 1050);         // deadline 2050
  CHECK(m.liveness.due_for_expiry(1001 + retry_ms, 100).empty());
  m.liveness.check_invariants(m.store);
  CHECK(m.liveness.due_for_expiry(2050, 100).empty());
  CHECK(m.liveness.due_for_expiry(2051, 100) == ids({1}));
  m.liveness.check_invariants(m.store);
}

TEST_CASE("session liveness: a tick names at most max sessions, by deadline, the rest later") {
  Mirror m(5);
  (void)m.liveness.became_leader(0);
  m.liveness.note_active(SessionId{1}, true, 10);  // deadline 1010: the latest
  CHECK(m.liveness.due_for_expiry(2000, 2) == ids({2, 3}));
  CHECK(m.liveness.due_for_expiry(2001, 2) == ids({4, 5}));
  CHECK(m.liveness.due_for_expiry(2002, 2) == ids({1}));
  m.liveness.check_invariants(m.store);
}
