// Seed 590 (store workload; fixed by e986cff, answered by 3e5f2e5): Multi-
// Paxos may choose a write that a deposed leader proposed after a later
// write of the same session. The deposed leader still holds the earlier
// write in a slot above everything its successor wrote; a later leader
// whose promises include that slot must re-propose it (README §3.1), so it
// is chosen after the session's later write. The store applies a session's
// writes only in the order the session numbered them: the late one is
// refused with NOT_EXECUTED and changes nothing.
#include <doctest/doctest.h>

#include "tests/sim/scenarios/scenario.h"
#include "tests/sim/store_cluster.h"

namespace synod::sim {
namespace {

using scenario::path;
using scenario::settled;

protocol::Op set(const char* p, const char* data) {
  return protocol::SetOp{path(p), data, std::nullopt};
}

protocol::Op create(const char* p) {
  protocol::CreateOp op;
  op.path = path(p);
  return op;
}

}  // namespace

TEST_CASE(
    "session order: a write a deposed leader proposed, chosen after its session's later write, "
    "is answered NOT_EXECUTED and changes nothing (seed 590)") {
  SimOptions options = scenario::quiet_options(3);
  options.snapshot_every = 1'000'000;  // every slot is applied one by one (replica.cpp)
  StoreCluster sim(options, scenario::log_transitions());
  REQUIRE(sim.advance_until([&] { return sim.leader_id().has_value(); }, 500));
  const NodeId l1 = *sim.leader_id();
  const NodeId f{l1.value() % 3 + 1};  // the session's server, a follower
  const NodeId x{f.value() % 3 + 1};   // the third server
  // Session C writes through F; session D writes on L1 itself.
  const std::size_t c = sim.add_client({f}, 4000);
  const std::size_t d = sim.add_client({l1}, 4000);
  REQUIRE(sim.advance_until([&] { return sim.session_open(c) && sim.session_open(d); }, 500));
  const client::RequestId made = sim.write(c, create("/x"));
  REQUIRE(sim.advance_until([&] { return sim.answer(c, made).has_value(); }, 200));
  REQUIRE(sim.answer(c, made)->response.status.ok());
  REQUIRE(sim.advance_until([&] { return settled(sim, 3); }, 200));

  // 1. L1 hears only F, and nobody hears L1. D's three writes and then C's
  //    write A (forwarded by F) reach L1, which proposes them alone: A sits
  //    three slots above the last slot anyone else holds.
  sim.cut(l1, f);
  sim.cut(l1, x);
  sim.cut(x, l1);
  const Slot held = sim.replica_of(l1)->core().log_end();
  (void)sim.write(d, create("/d1"));
  (void)sim.write(d, create("/d2"));
  (void)sim.write(d, create("/d3"));
  const client::RequestId a = sim.write(c, set("/x", "a"));
  REQUIRE(sim.advance_until(
      [&] { return sim.replica_of(l1)->core().log_end().value() == held.value() + 4; }, 20));
  const Slot slot_a_at_l1 = sim.replica_of(l1)->core().log_end();
  sim.isolate(l1);

  // 2. F and X elect L2 without L1; L2 writes its no-op, its opening
  //    command (which names its ballot) and then C's later write B, in the
  //    three slots L1 filled with D's writes.
  REQUIRE(sim.advance_until(
      [&] {
        const auto leader = sim.leader_id();
        return leader && *leader != l1 && sim.replica_of(f)->core().status().leader == *leader;
      },
      500));
  const NodeId l2 = *sim.leader_id();
  const client::RequestId b = sim.write(c, set("/x", "b"));
  REQUIRE(sim.advance_until([&] { return sim.chosen_slot(c, b).has_value(); }, 200));
  const Slot slot_b = *sim.chosen_slot(c, b);
  REQUIRE(slot_b < slot_a_at_l1);
  REQUIRE_FALSE(sim.chosen_slot(c, a).has_value());

  // 3. L1 rejoins and follows L2, which overwrites the slots up to B; A
  //    stays above them, accepted at L1's old ballot.
  sim.reconnect();
  REQUIRE(sim.advance_until([&] { return sim.replica_of(l1)->core().chosen() >= slot_b; }, 200));
  REQUIRE(sim.replica_of(l1)->core().log_end() == slot_a_at_l1);

  // 4. Nobody reaches L2 any more: it steps down, and L1 and the third
  //    server elect a leader whose promises include L1's A, which it must
  //    re-propose. A is chosen after B.
  for (NodeId n : {NodeId{1}, NodeId{2}, NodeId{3}}) {
    if (n != l2) sim.cut(n, l2);
  }
  REQUIRE(sim.advance_until([&] { return sim.chosen_slot(c, a).has_value(); }, 500));
  CHECK(*sim.chosen_slot(c, a) == slot_a_at_l1);
  CHECK(*sim.chosen_slot(c, a) > slot_b);

  // 5. Everything heals; every check of the store workload holds to the end
  //    (a session never sees its zxids go back, every answer is the model's).
  sim.reconnect();
  const RunResult result = sim.finish();
  REQUIRE_MESSAGE(result.passed, result.failure);
  REQUIRE(sim.answer(c, a).has_value());
  REQUIRE(sim.answer(c, b).has_value());
  CHECK(sim.answer(c, a)->response.status.error == protocol::Error::NOT_EXECUTED);
  CHECK(sim.answer(c, b)->response.status.ok());
  // The session's last write is the one that stays.
  const auto x_now = sim.model().get(path("/x"));
  REQUIRE(x_now.ok());
  CHECK(x_now.value().data == "b");
}

}  // namespace synod::sim
