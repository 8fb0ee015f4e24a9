// Seed 813 (store workload; fixed by 80e82dd): a store snapshot is
// kilobytes, not the consensus workload's hundred bytes, and chunks go one
// at a time (consensus/README.md §5). Sent in the smallest chunk size the
// seed draws, a few bytes, one transfer to a lagging server took longer
// than the whole liveness bound. The store workload sends store snapshots
// in chunks 64 times the drawn size (StoreCluster::start).
#include <doctest/doctest.h>

#include <string>

#include "tests/sim/scenarios/scenario.h"
#include "tests/sim/store_cluster.h"

namespace synod::sim {

TEST_CASE(
    "snapshot chunks: a server that missed kilobytes of writes catches up by a snapshot sent in "
    "the smallest drawn chunk size within the liveness bound (seed 813)") {
  SimOptions options = scenario::quiet_options(3, /*delay_ticks=*/2);
  options.core.snapshot_chunk_bytes_max = 5;  // seed 813's draw
  options.snapshot_every = 16;
  options.liveness_ticks = 4000;  // the bound seed 813 outlasted
  StoreCluster sim(options, scenario::log_transitions());
  REQUIRE(sim.advance_until([&] { return sim.leader_id().has_value(); }, 500));
  const NodeId leader = *sim.leader_id();
  const NodeId lagging{leader.value() % 3 + 1};
  const std::size_t c = sim.add_client({leader}, 4000);
  REQUIRE(sim.advance_until([&] { return sim.session_open(c); }, 500));

  // The lagging server is down while the store grows by 64 nodes of 100
  // bytes each and the others compact past everything it holds.
  const Slot lagging_end = sim.replica_of(lagging)->core().log_end();
  sim.crash_node(lagging);
  constexpr int nodes = 64;
  client::RequestId last{};
  for (int i = 0; i < nodes; ++i) {
    protocol::CreateOp op;
    op.path = scenario::path(("/n" + std::to_string(i)).c_str());
    op.data = std::string(100, static_cast<char>('a' + i % 26));
    last = sim.write(c, std::move(op));
  }
  REQUIRE(sim.advance_until([&] { return sim.answer(c, last).has_value(); }, 1000));
  REQUIRE(sim.answer(c, last)->response.status.ok());
  const replica::Replica& l = *sim.replica_of(leader);
  // Compacted past it: only a snapshot can bring it back. (Snapshots are
  // written off the loop, so the compaction comes a few ticks later.)
  REQUIRE(sim.advance_until(
      [&] { return l.core().status().log_start.value() > lagging_end.value() + 1; }, 1000));
  const std::string snapshot = sim.model().serialize_snapshot();
  REQUIRE(snapshot.size() > 6000);

  // It comes back; the liveness phase must see it converge in time.
  sim.restart_node(lagging);
  const RunResult result = sim.finish();
  REQUIRE_MESSAGE(result.passed, result.failure);
  CHECK(result.snapshots_installed >= 1);
  CHECK(sim.replica_of(lagging)->applied().value() == sim.model().applied_zxid().value());
}

}  // namespace synod::sim
