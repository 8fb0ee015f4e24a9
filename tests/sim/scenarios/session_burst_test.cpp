// Thousands of sessions (issue 14, point 2): more sessions than one expiry
// entry may name (store::expire_sessions_max) are held, their clients all
// vanish and the leader crashes with them. The new leader gives every
// session the same fresh deadline, so they all fall due in the same tick;
// it must expire them in entries of at most expire_sessions_per_entry_max,
// each decoding as apply() decodes it, and every replica applies them all.
// On the code before the bound, one entry named every session and every
// replica stopped at it.
#include <doctest/doctest.h>

#include <vector>

#include "tests/sim/scenarios/scenario.h"
#include "tests/sim/store_cluster.h"

namespace synod::sim {

TEST_CASE(
    "session burst: 4,500 sessions whose clients vanish with their leader all expire, in "
    "bounded entries, on every replica") {
  constexpr std::size_t sessions = 4500;
  static_assert(sessions > store::expire_sessions_max);
  SimOptions options = scenario::quiet_options(3);
  StoreCluster sim(options, /*log_notes=*/false);
  REQUIRE(sim.advance_until([&] { return sim.leader_id().has_value(); }, 500));
  const NodeId first = *sim.leader_id();
  std::vector<std::size_t> clients;
  clients.reserve(sessions);
  for (std::size_t i = 0; i < sessions; ++i) {
    clients.push_back(sim.add_client({NodeId{static_cast<std::uint32_t>(i % 3 + 1)}}, 2000));
  }
  REQUIRE(sim.advance_until(
      [&] {
        for (const std::size_t c : clients) {
          if (!sim.session_open(c)) return false;
        }
        return true;
      },
      3000));
  const std::size_t held = sim.model().session_count();
  REQUIRE(held >= sessions);

  for (const std::size_t c : clients) sim.silence_client(c);
  sim.crash_node(first);
  REQUIRE(sim.advance_until(
      [&] {
        const auto leader = sim.leader_id();
        return leader && *leader != first && sim.model().session_count() <= held - sessions;
      },
      3000));
  sim.restart_node(first);
  const RunResult result = sim.finish();
  REQUIRE_MESSAGE(result.passed, result.failure);
  for (const NodeId n : {NodeId{1}, NodeId{2}, NodeId{3}}) {
    REQUIRE(sim.replica_of(n) != nullptr);
    CHECK(sim.replica_of(n)->store().session_count() <= held - sessions);
  }
}

}  // namespace synod::sim
