// Cluster: N replicas of the real consensus core, a simulated network and
// disks, a fault schedule, and a client workload, stepped one tick at a time
// in a fixed order (../shared/anchors/aesthetics.md §2.5):
//
//   1. tick each live replica as often as its clock rate says;
//   2. deliver due packets;
//   3. complete due disk syncs;
//   4. let the fault schedule act (crash, restart, partition, heal,
//      reconfigure, transfer);
//   5. let clients propose.
//
// Every message on its way is held to the receiver's frame limit: one whose
// bound (consensus::message_wire_bytes) passes 1 MiB is encoded as synodd
// would send it, and one over protocol::frame_bytes_max fails the run
// (synodd's receiver would close the link on it, every time).
//
// After every event the Checker runs. A run is a fault phase, then a
// liveness phase: the network heals, crashed replicas restart (a minority of
// voters may stay down), and every proposal must be decided and every live
// member converge within a bound.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <set>
#include <string>
#include <vector>

#include "base/prng.h"
#include "consensus/core.h"
#include "tests/sim/checker.h"
#include "tests/sim/disk.h"
#include "tests/sim/network.h"
#include "tests/sim/options.h"

namespace synod::sim {

struct RunResult {
  bool passed = false;
  std::string failure;
  std::uint64_t ticks = 0;
  std::uint64_t slots_chosen = 0;
  std::uint64_t proposals = 0;
  std::uint64_t crashes = 0;
  std::uint64_t leaderships = 0;
  std::uint64_t messages = 0;
  std::uint64_t reconfigurations = 0;
  std::uint64_t snapshots_installed = 0;
  std::uint64_t reads_served = 0;
};

class Cluster {
 public:
  // log_notes: print every core transition with its tick (--log=full).
  Cluster(const SimOptions& options, bool log_notes);
  ~Cluster();
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  [[nodiscard]] RunResult run();

  // ---- Scripted runs (tests/sim/scenarios/) ----
  // A scenario sets every fault and workload rate in its options to 0, so
  // the drawn schedule does nothing, and makes the events itself; each tick
  // still runs in the order above. A node crashed here stays down, and a
  // link cut here stays cut, until the scenario says otherwise.
  //
  // Runs `ticks` ticks of the fault phase (or fewer, if a check fails).
  void advance(std::uint64_t ticks);
  // Runs ticks until done() holds (true), or false once ticks_max ticks
  // passed or a check failed first.
  [[nodiscard]] bool advance_until(const std::function<bool()>& done, std::uint64_t ticks_max);
  void crash_node(NodeId node);    // up -> down, losing what was not synced
  void restart_node(NodeId node);  // down -> up, recovering from its disk
  void cut(NodeId from, NodeId to);  // messages from -> to are lost until reconnect()
  void isolate(NodeId node);         // cut both ways from every other node
  void reconnect();                  // every cut heals
  // Adds `count` client proposals, of `bytes` each when not 0; the
  // workload proposes them to whichever replica leads, again every
  // retry_ticks, until each is chosen.
  void propose(std::size_t count, std::size_t bytes = 0);
  [[nodiscard]] std::optional<NodeId> leader_id();
  [[nodiscard]] const consensus::Core* core_of(NodeId node) const;  // null while down
  [[nodiscard]] const std::optional<std::string>& failure() const { return checker_.failure(); }
  // The liveness phase from now on, as run() ends: the network heals, the
  // crashed replicas restart, and every proposal must be decided and every
  // live member converge within liveness_ticks.
  [[nodiscard]] RunResult finish();

 private:
  struct Replica;

  void add_replica(NodeId id, const consensus::Configuration& initial);
  void start(Replica& replica);
  void crash(Replica& replica);
  void drain(Replica& replica);
  void release_durable(Replica& replica);
  void apply_chosen(Replica& replica, const consensus::Output& out);
  void maybe_snapshot(Replica& replica);
  void after_event(Replica& replica, const consensus::CoreFacts& before);
  void transmit(const consensus::Envelope& envelope);
  [[nodiscard]] bool fits_frame(const consensus::Envelope& envelope);
  [[nodiscard]] consensus::Entry proposal(std::uint64_t id) const;
  void add_proposal(std::size_t bytes);

  void tick_replicas();
  void deliver_packets();
  void complete_syncs();
  void fault_schedule();
  void partition_schedule();
  void membership_schedule();
  void workload();
  void reads();
  void serve_reads(Replica& replica);
  void run_tick();
  void heal();
  [[nodiscard]] bool converged() const;
  [[nodiscard]] RunResult result();

  [[nodiscard]] Replica* leader();
  [[nodiscard]] std::vector<Replica*> up_replicas();
  void log_line(const std::string& line) const;

  SimOptions options_;
  bool log_notes_;
  base::Prng prng_;  // the schedule's randomness
  Checker checker_;
  std::uint64_t now_ = 0;
  bool faults_ = true;

  std::map<NodeId, std::unique_ptr<Replica>> replicas_;
  std::vector<NodeId> spares_;
  Network network_;
  std::set<NodeId> stay_down_;  // crashed voters left down in the liveness phase

  std::map<std::uint64_t, std::uint64_t> pending_;  // proposal id -> last proposed tick
  std::map<std::uint64_t, std::size_t> large_;      // proposal id -> its bytes, if large
  std::uint32_t large_made_ = 0;
  // Linearizable reads in flight: id -> where, and what was chosen before it began.
  struct Read {
    NodeId node;
    std::uint64_t incarnation = 0;
    Slot chosen_before;           // every replica's applied maximum when invoked
    std::optional<Slot> index;    // set once read-index answered ok
  };
  std::map<std::uint64_t, Read> reads_;
  std::uint64_t next_read_ = 1;
  std::uint64_t next_proposal_ = 1;
  RunResult result_;
};

}  // namespace synod::sim
