// What every scenario starts from: options under which the drawn schedule
// does nothing, so only the scenario's own events happen (see README.md).
#pragma once

#include <cstdint>
#include <cstdlib>
#include <functional>
#include <string>

#include "protocol/path.h"
#include "tests/sim/options.h"
#include "tests/sim/store_cluster.h"

namespace synod::sim::scenario {

// `replicas` voters, no spares; no drop, duplicate, partition, crash,
// reconfiguration, transfer, proposal or read of the drawn kind; every
// message takes exactly `delay_ticks`, every sync one tick, every clock
// runs at the simulation's rate. The store workload gets one drawn client,
// the recursive watcher on "/", which stays idle but keeps checking the
// event stream; it never moves. The Prng is still seeded (election
// timeouts stay randomised), so a scenario is deterministic.
inline SimOptions quiet_options(std::uint32_t replicas, std::uint32_t delay_ticks = 1) {
  SimOptions o;
  o.seed = 1;
  o.replicas = replicas;
  o.spares = 0;
  o.fault_ticks = 0;  // unused: a scenario advances by itself, then finish()es
  o.drop_permille = 0;
  o.duplicate_permille = 0;
  o.delay_ticks_min = delay_ticks;
  o.delay_ticks_max = delay_ticks;
  o.partition_permille = 0;
  o.sync_ticks_min = 1;
  o.sync_ticks_max = 1;
  o.crash_permille = 0;
  o.clock_permille_min = 1000;
  o.clock_permille_max = 1000;
  o.reconfig_permille = 0;
  o.transfer_permille = 0;
  o.propose_permille = 0;
  o.read_permille = 0;
  o.clients = 1;
  o.client_move_permille = 0;
  o.core.election_ticks = 10;
  o.core.heartbeat_ticks = 2;
  return o;
}

// SYNOD_SIM_LOG=1 prints every transition of a scenario, as --log full does.
inline bool log_transitions() {
  const char* value = std::getenv("SYNOD_SIM_LOG");
  return value != nullptr && std::string(value) != "0";
}

inline protocol::Path path(const char* text) { return protocol::Path::parse(text).value(); }

// Every one of servers 1..replicas is up, can write its disk, and has
// applied everything the model has.
inline bool settled(const StoreCluster& sim, std::uint32_t replicas) {
  for (std::uint32_t n = 1; n <= replicas; ++n) {
    const replica::Replica* r = sim.replica_of(NodeId{n});
    if (r == nullptr || r->disk_failure() ||
        r->applied().value() != sim.model().applied_zxid().value()) {
      return false;
    }
  }
  return true;
}

}  // namespace synod::sim::scenario
