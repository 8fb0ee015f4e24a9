// SessionLiveness: whether each session is still alive, and the pacing of
// the leader's expiry and TTL-removal proposals (DESIGN.md "Store":
// sessions are replicated state, their liveness is not).
//
// ## What it owns
//   timeouts    a mirror of the store's sessions and their negotiated
//               timeouts: reload() after open or a snapshot install,
//               opened() and forget() as entries are applied. It matches
//               Store::sessions() whenever the replica is between inputs
//               (check_invariants(store)).
//   deadlines   leader only: when each session expires unless heard from. A
//               request of the session at the leader, or a follower's Touch
//               report, pushes it to now + timeout (never back). A new leader
//               gives every session a fresh timeout before expiring any
//               (became_leader()); a follower keeps none (follower_tick()).
//               Indexed by deadline too, so a tick looks only at the
//               sessions that are due.
//   expiring    leader only: sessions proposed for expiry, and when, indexed
//               by that time. A proposal that was lost (leadership moved, the
//               log was full) is made again after retry_ms, unless the
//               session was heard from meanwhile.
//   touched     follower only: sessions heard from since the last Touch
//               report. They leave with the next read-index round
//               (take_touched()) or, every report_ticks ticks, in a Touch
//               (follower_tick()); a round or report that failed gives them
//               back (touch_again()).
//   TTL pacing  one RemoveExpiredTtl proposal in flight at a time: the next
//               only after the last one applied or retry_ms passed.
//
// ## Ranges
// `now_ms` is the replica's monotonic clock: it never goes back across calls
// (asserted). Sessions unknown to the mirror are ignored by note_active();
// timeout_ms() of one is a bug (asserted). Timeouts come from applied
// entries, so they are not asserted on (a forwarded open carries a peer's).
//
// ## Cost
// Every call is O(log sessions) per session it touches or returns; no call
// but reload(), became_leader() and check_invariants() walks every session,
// so an idle session costs nothing per tick.
//
// Deterministic and single-threaded; ordered containers only, so the order of
// the sessions it returns never depends on a hash.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <utility>
#include <vector>

#include "base/ids.h"
#include "server/store/store.h"

namespace synod::replica {

// Paths one TTL-removal proposal may name (ReplicaOptions::
// ttl_removals_per_entry_max): at least one, and never more than the store
// accepts in one command.
inline constexpr std::uint32_t ttl_removals_per_entry_max_default = 256;
static_assert(ttl_removals_per_entry_max_default >= 1);
static_assert(ttl_removals_per_entry_max_default <= store::ttl_removals_max);

// Sessions one expiry proposal may name (ReplicaOptions::
// expire_sessions_per_entry_max): at least one, and never more than the
// decoder accepts in one command. More overdue sessions than this expire
// over several ticks, oldest deadline first.
inline constexpr std::uint32_t expire_sessions_per_entry_max_default = 1024;
static_assert(expire_sessions_per_entry_max_default >= 1);
static_assert(expire_sessions_per_entry_max_default <= store::expire_sessions_max);

class SessionLiveness {
 public:
  // `retry_ms` >= 1: how long a lost expiry or TTL-removal proposal waits
  // before it is made again (an election timeout). `report_ticks` >= 1:
  // ticks between a follower's Touch reports (a heartbeat). Asserted.
  SessionLiveness(std::int64_t retry_ms, std::uint32_t report_ticks);

  // ---- the mirror of the store's sessions ----
  // Replaces the mirror by the store's sessions; deadlines, expiring and
  // touched are left as they are (the leader's next tick settles them).
  void reload(const std::vector<store::SessionInfo>& sessions);
  // An applied open created `session`. At the leader it gets a deadline.
  void opened(SessionId session, std::int64_t timeout_ms, bool leader, std::int64_t now_ms);
  // `session` closed or expired: forgotten everywhere.
  void forget(SessionId session);
  [[nodiscard]] bool knows(SessionId session) const { return timeout_ms_.contains(session); }
  // The negotiated timeout of a known session (asserted known).
  [[nodiscard]] std::int64_t timeout_ms(SessionId session) const;
  [[nodiscard]] std::size_t count() const { return timeout_ms_.size(); }

  // ---- activity ----
  // The session was heard from here: the leader pushes its deadline; a
  // follower remembers to report it. Unknown sessions: nothing.
  void note_active(SessionId session, bool leader, std::int64_t now_ms);
  // Sessions a read-index round carries to the leader (all touched, by id);
  // touched is left empty.
  [[nodiscard]] std::vector<SessionId> take_touched();
  // A round or report that carried `sessions` failed: they are touched again.
  void touch_again(std::span<const SessionId> sessions);

  // ---- ticks ----
  // This replica just became leader: every known session gets a deadline of
  // now + its timeout; nothing is expiring. Returns how many sessions.
  [[nodiscard]] std::size_t became_leader(std::int64_t now_ms);
  // A follower's tick: it keeps no deadlines. Every report_ticks ticks, when
  // something was touched, returns the sessions to report in a Touch (by
  // id); call reported() if the Touch left.
  [[nodiscard]] std::optional<std::vector<std::uint64_t>> follower_tick();
  void reported() { touched_.clear(); }
  // A leader's tick: at most `max` (>= 1) sessions past their deadline that
  // are not already proposed for expiry within retry_ms: first the lost
  // proposals due again, then by deadline (ties by id). They are marked
  // expiring now; the rest are due at the next tick.
  [[nodiscard]] std::vector<SessionId> due_for_expiry(std::int64_t now_ms, std::size_t max);
  // Whether the leader may propose a TTL removal now, and that it did; an
  // applied removal lets the next one go at once.
  [[nodiscard]] bool ttl_removal_due(std::int64_t now_ms) const;
  void ttl_removal_proposed(std::int64_t now_ms);
  void ttl_removal_applied() { ttl_removal_proposed_ms_.reset(); }

  // Asserts the mirror equals `store`'s sessions and that no recorded time is
  // ahead of the clock. O(sessions); for tests and the simulator.
  void check_invariants(const store::Store& store) const;

 private:
  void saw_time(std::int64_t now_ms);
  void set_deadline(SessionId session, std::int64_t deadline_ms);
  void retry_lost_proposals(std::int64_t now_ms, std::size_t max, std::vector<SessionId>& due);

  std::int64_t retry_ms_;
  std::uint32_t report_ticks_;
  std::int64_t now_ms_ = std::numeric_limits<std::int64_t>::min();  // the latest seen

  std::map<SessionId, std::int64_t> timeout_ms_;   // mirrors the store
  // Leader only. A session is in by_deadline_ (at its deadline) or in
  // by_proposal_ (at the time its expiry was proposed), never both.
  std::map<SessionId, std::int64_t> deadline_ms_;
  std::map<SessionId, std::int64_t> expiring_ms_;  // proposed for expiry, at
  std::set<std::pair<std::int64_t, SessionId>> by_deadline_;
  std::set<std::pair<std::int64_t, SessionId>> by_proposal_;
  std::set<SessionId> touched_;                    // follower: since the last report
  std::uint32_t report_elapsed_ticks_ = 0;
  std::optional<std::int64_t> ttl_removal_proposed_ms_;
};

}  // namespace synod::replica
