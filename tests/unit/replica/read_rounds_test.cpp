#include "server/replica/read_rounds.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <map>
#include <vector>

using namespace synod;
using replica::ClientId;
using replica::ReadRounds;
using replica::RoundConfirmed;
using replica::RoundFailed;

namespace {

constexpr std::int64_t lost_after_ms = 200;

consensus::ReadReady confirmed(std::uint64_t id, std::uint64_t index) {
  return consensus::ReadReady{id, true, Slot{index}};
}
consensus::ReadReady failed(std::uint64_t id) { return consensus::ReadReady{id, false, Slot{}}; }

std::vector<SessionId> sessions(std::initializer_list<std::uint64_t> values) {
  std::vector<SessionId> out;
  for (const std::uint64_t v : values) out.push_back(SessionId{v});
  return out;
}

}  // namespace

TEST_CASE("read rounds: one round in flight; reads arriving meanwhile gather for the next") {
  ReadRounds rounds(lost_after_ms);
  CHECK_FALSE(rounds.can_start());  // nobody waits
  rounds.add(ClientId{1}, 10);
  REQUIRE(rounds.can_start());
  const std::uint64_t first = rounds.start(0, sessions({4}));
  CHECK(first == 1);
  CHECK(rounds.carried() == sessions({4}));
  rounds.add(ClientId{2}, 20);
  CHECK_FALSE(rounds.can_start());
  CHECK(rounds.riding() == 1);
  CHECK(rounds.gathering() == 1);
  rounds.check_invariants();

  const replica::RoundEnd end = rounds.finish(confirmed(first, 7));
  const auto* done = std::get_if<RoundConfirmed>(&end);
  REQUIRE(done != nullptr);
  CHECK(done->index == Slot{7});
  CHECK(done->requests == std::map<ClientId, std::vector<std::uint64_t>>{{ClientId{1}, {10}}});
  CHECK(rounds.carried().empty());
  REQUIRE(rounds.can_start());
  CHECK(rounds.start(5, {}) == 2);
  rounds.check_invariants();
}

TEST_CASE("read rounds: a confirmed round names its requests by client, each sorted") {
  ReadRounds rounds(lost_after_ms);
  rounds.add(ClientId{2}, 9);
  rounds.add(ClientId{1}, 5);
  rounds.add(ClientId{2}, 3);
  const std::uint64_t id = rounds.start(0, {});
  const replica::RoundEnd end = rounds.finish(confirmed(id, 1));
  const auto* done = std::get_if<RoundConfirmed>(&end);
  REQUIRE(done != nullptr);
  CHECK(done->requests == std::map<ClientId, std::vector<std::uint64_t>>{
                              {ClientId{1}, {5}}, {ClientId{2}, {3, 9}}});
}

TEST_CASE("read rounds: an answer for another round changes nothing") {
  ReadRounds rounds(lost_after_ms);
  rounds.add(ClientId{1}, 1);
  const std::uint64_t id = rounds.start(0, {});
  CHECK(std::holds_alternative<std::monostate>(rounds.finish(confirmed(id + 1, 3))));
  CHECK(rounds.in_flight());
  CHECK(std::holds_alternative<RoundConfirmed>(rounds.finish(confirmed(id, 3))));
  // A duplicate of the answer, after the round ended: nothing.
  CHECK(std::holds_alternative<std::monostate>(rounds.finish(confirmed(id, 3))));
}

TEST_CASE("read rounds: a failed round goes back before the gathering reads, with its sessions") {
  ReadRounds rounds(lost_after_ms);
  rounds.add(ClientId{1}, 1);
  const std::uint64_t id = rounds.start(0, sessions({8, 9}));
  rounds.add(ClientId{1}, 2);
  const replica::RoundEnd end = rounds.finish(failed(id));
  const auto* lost = std::get_if<RoundFailed>(&end);
  REQUIRE(lost != nullptr);
  CHECK(lost->sessions == sessions({8, 9}));
  CHECK_FALSE(rounds.in_flight());
  CHECK(rounds.gathering() == 2);
  const std::uint64_t again = rounds.start(10, {});
  CHECK(again == id + 1);
  const replica::RoundEnd next = rounds.finish(confirmed(again, 4));
  const auto* done = std::get_if<RoundConfirmed>(&next);
  REQUIRE(done != nullptr);
  CHECK(done->requests.at(ClientId{1}) == std::vector<std::uint64_t>{1, 2});
}

TEST_CASE("read rounds: a round unanswered for more than lost_after_ms is given up and asked "
          "again") {
  ReadRounds rounds(lost_after_ms);
  rounds.add(ClientId{1}, 1);
  const std::uint64_t id = rounds.start(100, sessions({3}));
  CHECK_FALSE(rounds.give_up_if_lost(100 + lost_after_ms).has_value());
  const auto carried = rounds.give_up_if_lost(100 + lost_after_ms + 1);
  REQUIRE(carried.has_value());
  CHECK(*carried == sessions({3}));
  CHECK(rounds.can_start());
  // The lost round's answer, arriving late, is ignored.
  CHECK(std::holds_alternative<std::monostate>(rounds.finish(confirmed(id, 5))));
  CHECK(rounds.start(400, {}) == id + 1);
  CHECK_FALSE(rounds.give_up_if_lost(400).has_value());
  rounds.check_invariants();
}

TEST_CASE("read rounds: keep-alives wait for the tick's round, a read starts one at once") {
  ReadRounds rounds(lost_after_ms);
  rounds.add(ClientId{1}, 1, SessionId{4}, replica::Urgency::by_tick);
  rounds.add(ClientId{2}, 1, SessionId{5}, replica::Urgency::by_tick);
  CHECK(rounds.can_start());  // at the tick
  CHECK_FALSE(rounds.wants_start());
  rounds.check_invariants();
  rounds.add(ClientId{3}, 7);  // a linearizable read
  CHECK(rounds.wants_start());
  const std::uint64_t id = rounds.start(0, {});
  CHECK_FALSE(rounds.wants_start());
  CHECK(rounds.carried() == sessions({4, 5}));  // the keep-alives ride along
  rounds.check_invariants();

  // A keep-alive arriving meanwhile waits for a tick, even once the round ends.
  rounds.add(ClientId{1}, 2, SessionId{4}, replica::Urgency::by_tick);
  CHECK(std::holds_alternative<RoundConfirmed>(rounds.finish(confirmed(id, 3))));
  CHECK(rounds.can_start());
  CHECK_FALSE(rounds.wants_start());
  rounds.check_invariants();
}

TEST_CASE("read rounds: a failed round's urgent read still wants a round") {
  ReadRounds rounds(lost_after_ms);
  rounds.add(ClientId{1}, 1);
  const std::uint64_t id = rounds.start(0, {});
  rounds.add(ClientId{2}, 1, SessionId{5}, replica::Urgency::by_tick);
  CHECK_FALSE(rounds.wants_start());
  CHECK(std::holds_alternative<RoundFailed>(rounds.finish(failed(id))));
  CHECK(rounds.wants_start());
  rounds.check_invariants();
}
