// Everything a simulation run does is drawn from its seed (STYLE.md habit
// 13): cluster size, fault rates, partition modes, disk latency, clock rates,
// reconfiguration and workload. The options print first, so a seed is a bug
// report.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "consensus/options.h"
#include "server/wal/wal.h"

namespace synod::sim {

struct SimOptions {
  std::uint64_t seed = 0;
  std::uint32_t replicas = 3;  // 3, 5 or 7 initial voters
  std::uint32_t spares = 2;    // extra node ids that may join as learners

  std::uint32_t fault_ticks = 3000;     // the safety phase, with faults
  std::uint32_t liveness_ticks = 4000;  // the bound for convergence after healing

  // Network (per message).
  std::uint32_t drop_permille = 20;
  std::uint32_t duplicate_permille = 10;
  std::uint32_t delay_ticks_min = 0;
  std::uint32_t delay_ticks_max = 3;
  // Partitions: chance per tick that one starts (when none is active), and
  // how long it lasts.
  std::uint32_t partition_permille = 3;
  std::uint32_t partition_ticks_max = 200;
  // Disk: ticks from a write to the end of its sync.
  std::uint32_t sync_ticks_min = 0;
  std::uint32_t sync_ticks_max = 2;
  // Crashes: chance per tick that one live replica crashes; a crashed one
  // restarts after up to restart_ticks_max.
  std::uint32_t crash_permille = 2;
  std::uint32_t restart_ticks_max = 150;
  // Clock rates, per replica, in permille of the simulation's tick rate.
  std::uint32_t clock_permille_min = 900;
  std::uint32_t clock_permille_max = 1100;
  // Reconfiguration and transfer: chance per tick that the leader is asked.
  std::uint32_t reconfig_permille = 2;
  std::uint32_t transfer_permille = 1;
  // Workload: chance per tick of a client proposal; proposals outstanding.
  std::uint32_t propose_permille = 300;
  std::uint32_t outstanding_max = 32;
  std::uint32_t retry_ticks = 60;
  // Store workload: clients (0: drawn, 2 to 5), and the chance per tick that
  // a connected one drops its connection and moves to another server.
  std::uint32_t clients = 0;
  std::uint32_t client_move_permille = 2;
  // Linearizable reads through read-index: chance per tick of one.
  std::uint32_t read_permille = 100;
  // Snapshots: a replica compacts after this many applied entries.
  std::uint32_t snapshot_every = 64;
  // Stalls (store workload): chance per tick that a running server stops
  // ticking, reading and finishing syncs for up to stall_ticks_max ticks
  // (a descheduled process, a blocked event loop). 0 in two runs of three.
  std::uint32_t stall_permille = 0;
  std::uint32_t stall_ticks_max = 0;
  // WAL segment size (wal::WalOptions::segment_bytes_max).
  std::uint64_t wal_segment_bytes = wal::WalOptions{}.segment_bytes_max;

  // Large entries (--large-entries, consensus workload): the chance, per
  // proposal, that it carries a command of 1 MiB up to
  // consensus::command_bytes_max, so Accepts, Promise pages and Forwards run
  // near the frame limit. 0 in drawn runs.
  std::uint32_t large_entry_permille = 0;
  std::uint32_t large_entries_max = 0;  // per run; the first is at the limit

  consensus::Options core;  // self is set per replica
  std::string canary;       // empty: a clean build

  [[nodiscard]] std::string describe() const;
};

// The canaries the simulator knows, one per line in --list-canaries.
[[nodiscard]] const std::vector<std::string>& canary_names();

// Draws a run's options from its seed. `canary` must be empty or a name
// from canary_names().
[[nodiscard]] SimOptions options_from_seed(std::uint64_t seed, const std::string& canary);

// --large-entries: a few large proposals (large_entry_permille,
// large_entries_max), a realistic accept_bytes_max, three voters, and few
// proposals outstanding or in the log: every large entry is copied into each
// log, disk and message, so a run holds a few hundred MiB at most.
void use_large_entries(SimOptions& options);

}  // namespace synod::sim
