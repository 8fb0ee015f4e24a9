// ReadRounds: the read-index rounds this replica asks the leader for
// (consensus/README.md §11; DESIGN.md "Reads"). A linearizable read, a
// keep-alive and a moved session's open are answered only once a round that
// started after they arrived has confirmed, through a quorum, that the leader
// still leads, and has named the chosen point (the read index) they must wait
// for.
//
// ## What it owns
//   in flight   at most one round: its id, when it started, the requests
//               riding on it, and the sessions it carries to the leader (a
//               follower's touches ride on the round, see SessionLiveness).
//               A request that will vouch for a session (a keep-alive, a
//               moved session's open) names it, and the round that carries
//               the request always carries that session and vouches()
//               (consensus/README.md §12), whatever became of the touches.
//   gathering   the requests that arrived since the round in flight started;
//               they go together in the next one. Each says how soon its
//               round must start (Urgency): a read someone waits for, now;
//               a keep-alive, by the next tick — its answer is not
//               latency-critical, so the keep-alives arriving within a tick
//               share one round instead of starting one each (the cost of
//               an idle session, bench/README.md "Sessions"). Waiting
//               longer only makes the answer later: the round still starts
//               after the keep-alive arrived, and safe_until counts from
//               when the client sent it.
// A request is named by (client, request id); the rounds never look inside
// a connection's queue.
//
// ## Lifecycle
//   add()                  a request joins the gathering batch
//   wants_start()          none in flight and someone gathering who needs
//                          a round now: the replica starts one at once
//   can_start(), start()   none in flight and someone gathering: the batch
//                          becomes the round in flight, with a new id (ids
//                          increase from 1). The replica starts it at each
//                          tick, and at once when wants_start().
//   finish(ready)          the core's answer. For another id (late, or for a
//                          round given up): nothing. Failed (no leader could
//                          confirm it): its requests go back in front of the
//                          gathering ones and its sessions are handed back;
//                          the next tick asks again. Confirmed: its requests,
//                          by client, with the index.
//   give_up_if_lost(now)   a round in flight for more than lost_after_ms got
//                          no answer (lost): the same as failed.
// Requests that are never answered (their client left, or they timed out)
// ride along harmlessly: the replica ignores what it cannot find.
//
// Deterministic and single-threaded; the confirmed requests come by client
// id, each client's request ids sorted.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <variant>
#include <vector>

#include "base/ids.h"
#include "consensus/output.h"
#include "server/replica/client_id.h"

namespace synod::replica {

// finish() of a round that failed: its sessions, to carry again.
struct RoundFailed {
  std::vector<SessionId> sessions;
};
// finish() of a confirmed round: serve each request once the replica has
// applied `index`.
struct RoundConfirmed {
  Slot index;
  std::map<ClientId, std::vector<std::uint64_t>> requests;  // request ids, sorted
};
// std::monostate: the answer was not for the round in flight; nothing changed.
using RoundEnd = std::variant<std::monostate, RoundFailed, RoundConfirmed>;

// How soon the round a request rides on must start.
enum class Urgency : std::uint8_t {
  now,      // a linearizable read, a sync, a moved session's open
  by_tick,  // a keep-alive: it may wait for the next tick's round
};

class ReadRounds {
 public:
  // `lost_after_ms` >= 1 (asserted): how long a round may wait for its
  // answer before it is asked again (an election timeout).
  explicit ReadRounds(std::int64_t lost_after_ms);

  // The request joins the next round; `vouch_for` is the session its answer
  // will vouch for (0: none).
  void add(ClientId client, std::uint64_t request_id, SessionId vouch_for = SessionId{0},
           Urgency urgency = Urgency::now);
  // Whether start() may be called: no round in flight, some request gathering.
  [[nodiscard]] bool can_start() const { return !in_flight_ && !gathering_.empty(); }
  // Whether a round should start at once: can_start(), and a gathering
  // request is Urgency::now.
  [[nodiscard]] bool wants_start() const { return can_start() && urgent_gathering_ != 0; }
  // Starts the next round with every gathering request, carrying `touched`
  // and every session a gathering request vouches for to the leader (by id,
  // once each). Returns its id, for Core::read_index. Asserts can_start().
  [[nodiscard]] std::uint64_t start(std::int64_t now_ms, std::vector<SessionId> touched);
  // The sessions the round in flight carries (empty when none is in flight).
  [[nodiscard]] const std::vector<SessionId>& carried() const;
  // Whether a request on the round in flight vouches for a session.
  [[nodiscard]] bool vouches() const { return in_flight_ && in_flight_->vouches; }
  // The core's answer to a round (see the lifecycle above).
  [[nodiscard]] RoundEnd finish(const consensus::ReadReady& ready);
  // When the round in flight has waited more than lost_after_ms, gives it up
  // as failed and returns its sessions; otherwise nullopt.
  [[nodiscard]] std::optional<std::vector<SessionId>> give_up_if_lost(std::int64_t now_ms);

  [[nodiscard]] bool in_flight() const { return in_flight_.has_value(); }
  [[nodiscard]] std::size_t riding() const { return in_flight_ ? in_flight_->requests.size() : 0; }
  [[nodiscard]] std::size_t gathering() const { return gathering_.size(); }

  // Asserts a round in flight carries at least one request and has the last
  // id issued, and that the urgent gathering requests are counted right.
  // O(requests held).
  void check_invariants() const;

 private:
  struct Request {
    ClientId client;
    std::uint64_t request_id = 0;
    SessionId vouch_for{};  // 0: none
    Urgency urgency = Urgency::now;
  };
  struct Round {
    std::uint64_t id = 0;
    std::int64_t started_ms = 0;
    std::vector<Request> requests;
    std::vector<SessionId> sessions;
    bool vouches = false;
  };

  // The round in flight failed: its requests go before the gathering ones.
  [[nodiscard]] std::vector<SessionId> requeue();

  std::int64_t lost_after_ms_;
  std::uint64_t last_id_ = 0;
  std::optional<Round> in_flight_;
  std::vector<Request> gathering_;
  std::size_t urgent_gathering_ = 0;  // of gathering_, those Urgency::now
};

}  // namespace synod::replica
