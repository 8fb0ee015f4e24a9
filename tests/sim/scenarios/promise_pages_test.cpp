// A promise larger than a frame (consensus workload; issue 14, point 8).
// Two followers accept values near the frame limit that the leader never
// gets chosen, and the leader dies. Whichever follower runs next must learn
// those values from the other's promise: before the promise came in pages
// (consensus/README.md §3.1) it was one message holding every value, over
// protocol::frame_bytes_max, which synodd's receiver refuses (the simulator
// fails the run on it, as Cluster::fits_frame says), so no candidate could
// ever win. Not from a drawn seed: written with the paging, and fails with
// Core::fill_promise_page reverted to one page (every value in one Promise).
#include <doctest/doctest.h>

#include "consensus/limits.h"
#include "protocol/limits.h"
#include "tests/sim/cluster.h"
#include "tests/sim/scenarios/scenario.h"

namespace synod::sim {
namespace {

std::size_t unchosen_bytes(const consensus::Core& core) {
  std::size_t bytes = 0;
  for (Slot s = next(core.chosen()); s <= core.log_end(); s = next(s)) {
    bytes += core.entry_at(s).data.size();
  }
  return bytes;
}

}  // namespace

TEST_CASE(
    "promise pages: a candidate learns unchosen values worth more than a frame from a "
    "follower's paged promise, and has them chosen") {
  SimOptions options = scenario::quiet_options(3);
  options.snapshot_every = 1'000'000;  // the values stay in the logs
  Cluster sim(options, scenario::log_transitions());
  REQUIRE(sim.advance_until([&] { return sim.leader_id().has_value(); }, 500));
  const NodeId leader = *sim.leader_id();
  const NodeId a{leader.value() % 3 + 1};
  const NodeId b{a.value() % 3 + 1};

  // The followers accept, but their answers never reach the leader.
  sim.cut(a, leader);
  sim.cut(b, leader);
  sim.propose(1, std::size_t{2} << 20);
  sim.propose(1, consensus::command_bytes_max);
  // Together they outgrow a frame, and neither is chosen.
  REQUIRE(sim.advance_until(
      [&] {
        return unchosen_bytes(*sim.core_of(a)) > protocol::frame_bytes_max &&
               unchosen_bytes(*sim.core_of(b)) > protocol::frame_bytes_max;
      },
      100));
  // The leader goes, and so does its log.
  sim.crash_node(leader);
  sim.reconnect();
  REQUIRE(sim.advance_until([&] { return sim.leader_id().has_value(); }, 500));
  const RunResult result = sim.finish();
  REQUIRE_MESSAGE(result.passed, result.failure);
}

}  // namespace synod::sim
