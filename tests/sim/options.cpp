#include "tests/sim/options.h"

#include <algorithm>

#include "base/assert.h"
#include "base/prng.h"

namespace synod::sim {

const std::vector<std::string>& canary_names() {
  static const std::vector<std::string> names = {
      "skip-promise-adoption", "ack-before-persist",
      "short-quorum",          "forget-promise-on-restart",
      "two-reconfigs-at-once", "stale-local-read",
      "drop-watch-event",      "keep-ephemerals-on-expiry",
      "ignore-fence",          "skip-wal-sync",
      "ignore-session-order",  "vouch-below-proposed",
      "phantom-watch-event",   "children-skip-last",
      "one-shot-fires-twice",  "rewatch-never-fires",
      "replay-page-gap",       "silent-compaction"};
  return names;
}

SimOptions options_from_seed(std::uint64_t seed, const std::string& canary) {
  SYNOD_ASSERT(canary.empty() ||
               std::find(canary_names().begin(), canary_names().end(), canary) !=
                   canary_names().end());
  base::Prng prng(seed ^ 0x5eed'0f'5170dull);
  SimOptions o;
  o.seed = seed;
  const std::uint32_t sizes[] = {3, 3, 5, 5, 7};
  o.replicas = sizes[prng.below(5)];
  o.spares = static_cast<std::uint32_t>(prng.range(1, 3));
  auto draw = [&](std::uint64_t lo, std::uint64_t hi) {
    return static_cast<std::uint32_t>(prng.range(lo, hi));
  };
  o.fault_ticks = draw(1500, 4000);
  o.drop_permille = draw(0, 80);
  o.duplicate_permille = draw(0, 30);
  o.delay_ticks_min = draw(0, 1);
  o.delay_ticks_max = o.delay_ticks_min + draw(0, 4);
  o.partition_permille = draw(0, 8);
  o.partition_ticks_max = draw(20, 300);
  o.sync_ticks_min = draw(0, 1);
  o.sync_ticks_max = o.sync_ticks_min + draw(0, 3);
  o.crash_permille = draw(0, 6);
  o.restart_ticks_max = draw(10, 300);
  o.clock_permille_min = draw(850, 1000);
  o.clock_permille_max = draw(1000, 1150);
  o.reconfig_permille = draw(0, 6);
  o.transfer_permille = draw(0, 3);
  o.propose_permille = draw(50, 900);
  o.outstanding_max = draw(1, 64);
  o.snapshot_every = draw(8, 200);
  o.read_permille = draw(0, 300);

  o.core.election_ticks = draw(10, 30);
  o.core.heartbeat_ticks = draw(1, o.core.election_ticks / 4);
  o.core.accept_entries_max = draw(1, 32);
  o.core.inflight_slots_max = o.core.accept_entries_max * draw(1, 8);
  o.core.accept_bytes_max = draw(16, 4096);
  o.core.pending_slots_max = std::max<std::uint32_t>(o.core.inflight_slots_max, 256);
  o.core.snapshot_chunk_bytes_max = draw(4, 64);
  o.core.promote_lag_slots_max = draw(0, 32);
  // One run in three rotates WAL segments every few records, so rotations
  // with unsynced bytes (held segments, wal.h) meet syncs and snapshots.
  if (draw(0, 2) == 0) o.wal_segment_bytes = draw(wal::segment_bytes_max_min, 4096);
  if (draw(0, 2) == 0) {
    o.stall_permille = draw(1, 4);
    o.stall_ticks_max = draw(1, 3 * o.core.election_ticks);
  }

  o.canary = canary;
  o.core.canaries.skip_promise_adoption = canary == "skip-promise-adoption";
  o.core.canaries.ack_before_persist = canary == "ack-before-persist";
  o.core.canaries.short_quorum = canary == "short-quorum";
  o.core.canaries.two_reconfigs_at_once = canary == "two-reconfigs-at-once";
  o.core.canaries.stale_local_read = canary == "stale-local-read";
  o.core.canaries.vouch_below_proposed = canary == "vouch-below-proposed";
  if (canary == "stale-local-read") o.read_permille = std::max(o.read_permille, 200u);
  if (canary == "two-reconfigs-at-once") o.reconfig_permille = std::max(o.reconfig_permille, 20u);
  return o;
}

void use_large_entries(SimOptions& o) {
  o.large_entry_permille = 100;
  o.large_entries_max = 4;
  o.replicas = 3;
  o.spares = 1;
  o.outstanding_max = std::min(o.outstanding_max, 2u);
  o.snapshot_every = std::min(o.snapshot_every, 16u);
  o.fault_ticks = std::min(o.fault_ticks, 1000u);
  o.core.accept_bytes_max = 4 << 20;
}

std::string SimOptions::describe() const {
  auto kv = [](const char* k, std::uint64_t v) { return std::string(k) + "=" + std::to_string(v); };
  std::string s =
      "options: " + kv("replicas", replicas) + " " + kv("spares", spares) + " " +
      kv("fault_ticks", fault_ticks) + " " + kv("drop‰", drop_permille) + " " +
      kv("dup‰", duplicate_permille) + " delay=" + std::to_string(delay_ticks_min) + ".." +
      std::to_string(delay_ticks_max) + " " + kv("partition‰", partition_permille) + " " +
      kv("crash‰", crash_permille) + " sync=" + std::to_string(sync_ticks_min) + ".." +
      std::to_string(sync_ticks_max) + " clock‰=" + std::to_string(clock_permille_min) + ".." +
      std::to_string(clock_permille_max) + " " + kv("reconfig‰", reconfig_permille) + " " +
      kv("transfer‰", transfer_permille) + " " + kv("propose‰", propose_permille) + " " +
      kv("outstanding", outstanding_max) + " " + kv("snapshot_every", snapshot_every) + " " +
      kv("read‰", read_permille) + " " + kv("election_ticks", core.election_ticks) + " " +
      kv("heartbeat_ticks", core.heartbeat_ticks) + " " + kv("batch", core.accept_entries_max) +
      " " + kv("inflight", core.inflight_slots_max) + " " +
      kv("chunk", core.snapshot_chunk_bytes_max) + " " + kv("segment", wal_segment_bytes);
  if (stall_permille > 0) {
    s += " " + kv("stall‰", stall_permille) + " " + kv("stall_ticks", stall_ticks_max);
  }
  if (large_entry_permille > 0) s += " " + kv("large‰", large_entry_permille);
  if (!canary.empty()) s += " canary=" + canary;
  return s;
}

}  // namespace synod::sim
