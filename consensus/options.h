// Options for one replica's consensus core, with their valid ranges. Time is
// counted in ticks; the runtime decides how long a tick is (README §8).
#pragma once

#include <cstdint>
#include <string>

#include "base/ids.h"
#include "base/status.h"
#include "consensus/types.h"

namespace synod::consensus {

// Deliberate bugs, off in every real build. The simulator turns one on to
// prove its checkers catch it (README §9; tests/sim, --list-canaries).
struct Canaries {
  bool skip_promise_adoption = false;  // a new leader ignores values in promises
  bool ack_before_persist = false;     // acceptors reply before their write is durable
  bool short_quorum = false;           // chosen with one vote too few
  bool two_reconfigs_at_once = false;  // a second configuration change while one is pending
  bool stale_local_read = false;       // read_index answers from local state, no quorum round
  bool vouch_below_proposed = false;   // a vouching round's index ignores what is proposed
};

struct Options {
  NodeId self{};

  // A follower that hears nothing from a leader for a random number of ticks
  // in [election_ticks, 2 * election_ticks) asks to run. Also the stickiness
  // window and the leader's check-quorum period. >= 2 * heartbeat_ticks.
  std::uint32_t election_ticks = 20;
  // A leader sends an Accept (a heartbeat if nothing is new) this often.
  std::uint32_t heartbeat_ticks = 2;

  // Entries per Accept message, and unacknowledged slots in flight per peer.
  std::uint32_t accept_entries_max = 64;
  // An Accept, a Promise page and a Forward take entries while their
  // entry_wire_bytes sum stays within this, and always take one, so every
  // message fits peer_frame_bytes_max (consensus/limits.h).
  // In [1, entry_wire_bytes_max].
  std::uint32_t accept_bytes_max = 4 << 20;
  std::uint32_t inflight_slots_max = 1024;
  // Slots the leader holds beyond its chosen point; propose() is Busy above.
  std::uint32_t pending_slots_max = 8192;
  // Bytes of snapshot per SnapshotChunk, in [1, snapshot_chunk_bytes_limit],
  // so a chunk with its configuration fits peer_frame_bytes_max.
  std::uint32_t snapshot_chunk_bytes_max = 1 << 20;
  // A learner within this many slots of the chosen point is caught up and
  // the leader promotes it to voter.
  std::uint32_t promote_lag_slots_max = 16;

  Canaries canaries;

  // ok when the options are usable; otherwise invalid, saying what is wrong.
  [[nodiscard]] base::CheckStatus validate() const;
};

}  // namespace synod::consensus
