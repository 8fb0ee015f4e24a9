// Replica: session liveness and TTL removal. Sessions are replicated state
// (open, close and expiry are log entries); liveness is not. The leader keeps
// a deadline per session, pushed forward by the session's requests at the
// leader and by Touch reports from followers; a session past its deadline is
// expired by an entry the leader proposes, which removes its ephemerals in
// the same entry. A new leader gives every session a fresh timeout first.
#include <algorithm>

#include "base/assert.h"
#include "server/replica/replica.h"

namespace synod::replica {

// Session liveness runs on the monotonic clock minus the time this replica
// itself was stalled (a tick that came more than two ticks late: a blocked
// event loop, a descheduled process). Keep-alives that arrived meanwhile
// still wait in socket buffers, so a leader must not count that time
// against its sessions; it only ever delays an expiry, never hastens one.
void Replica::note_tick_gap(std::int64_t previous_ms) {
  const std::int64_t gap = now_.monotonic_ms - previous_ms;
  if (gap <= 2 * options_.tick_ms) return;
  stalled_ms_ += gap - options_.tick_ms;
  // Short stalls are common on a busy machine; only one as long as an
  // election timeout is worth a sentence.
  if (gap < options_.tick_ms * options_.core.election_ticks) return;
  output_.notes.push_back(node_name(options_.core.self) + " was stalled for " +
                          std::to_string(gap) + " ms; session deadlines move by " +
                          std::to_string(gap - options_.tick_ms) + " ms");
}

std::int64_t Replica::liveness_now() const { return now_.monotonic_ms - stalled_ms_; }

void Replica::note_session_active(SessionId session) {
  liveness_.note_active(session, leading(), liveness_now());
}

void Replica::on_became_leader() {
  const std::size_t sessions = liveness_.became_leader(liveness_now());
  // Its first command names its ballot: from that slot on, every replica
  // skips expiries an older leadership proposed (store/command.h), which a
  // minority may still hold and this leader's phase 1 did not see.
  std::vector<codec::LogCommand> opening;
  opening.push_back(
      codec::LogCommand{0, SessionId{0}, 0, store::NoopCommand{core_->status().promised}});
  propose_now(std::move(opening));
  output_.notes.push_back(node_name(options_.core.self) + " leads: " + std::to_string(sessions) +
                          " session(s) get a fresh timeout before any expires");
}

void Replica::session_tick() {
  if (!core_->is_leader()) {
    if (auto ids = liveness_.follower_tick(); ids && core_->touch(std::move(*ids))) {
      liveness_.reported();
    }
    return;
  }
  // Expiries and TTL removals go straight into the core's log, never into
  // a batch for later: a vouching read round that starts from now on gets
  // an index covering them (consensus/README.md §12). Nothing is decided
  // while the log has no room.
  if (core_->proposal_room() < 2) return;
  std::vector<codec::LogCommand> commands;
  // Room for both up front: at -O3 GCC 12 reports a false -Wstringop-overflow
  // inside the variant's move when push_back reallocates here.
  commands.reserve(2);
  store::ExpireSessionsCommand expire{
      liveness_.due_for_expiry(liveness_now(), options_.expire_sessions_per_entry_max),
      core_->status().promised};
  if (!expire.sessions.empty()) {
    output_.notes.push_back("leader proposes expiring " + std::to_string(expire.sessions.size()) +
                            " session(s), starting with " +
                            std::to_string(expire.sessions.front().value()));
    commands.push_back(codec::LogCommand{0, SessionId{0}, 0, std::move(expire)});
  }
  if (liveness_.ttl_removal_due(liveness_now())) {
    std::vector<protocol::Path> paths =
        store_.expired_ttl_nodes(stamp(), options_.ttl_removals_per_entry_max);
    if (!paths.empty()) {
      liveness_.ttl_removal_proposed(liveness_now());
      commands.push_back(
          codec::LogCommand{0, SessionId{0}, 0, store::RemoveExpiredTtlCommand{std::move(paths)}});
    }
  }
  if (!commands.empty()) propose_now(std::move(commands));
}

// Leader: stamps and proposes the leader's own commands at once.
void Replica::propose_now(std::vector<codec::LogCommand> commands) {
  std::vector<consensus::Entry> entries;
  const std::int64_t time_ms = stamp();
  for (codec::LogCommand& c : commands) {
    c.time_ms = time_ms;
    if (auto bytes = encode_checked(c)) entries.push_back(consensus::Entry::command(*bytes));
  }
  if (entries.empty()) return;
  // Busy during a leadership transfer: the expiry is lost like any lost
  // proposal, made again after retry_ms if the session is still overdue.
  const consensus::ProposeResult result = core_->propose(std::move(entries));
  SYNOD_MAYBE(result.kind == consensus::ProposeResult::Kind::accepted);
}

void Replica::after_apply_sessions(const codec::LogCommand& command,
                                   const store::ApplyResult& result) {
  std::visit(
      [&](const auto& c) {
        using C = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<C, store::OpenSessionCommand>) {
          if (!result.response.status.ok()) return;
          liveness_.opened(result.response.session, c.timeout_ms, core_->is_leader(),
                           liveness_now());
        } else if constexpr (std::is_same_v<C, store::CloseSessionCommand>) {
          if (result.response.status.ok())
            on_session_gone(c.session, protocol::SessionState::closed);
        } else if constexpr (std::is_same_v<C, store::ExpireSessionsCommand>) {
          for (SessionId s : c.sessions) {
            if (!store_.session_exists(s)) on_session_gone(s, protocol::SessionState::expired);
          }
        } else if constexpr (std::is_same_v<C, store::RemoveExpiredTtlCommand>) {
          liveness_.ttl_removal_applied();
        } else if constexpr (std::is_same_v<C, store::MoveSessionCommand>) {
          session_moved_away(c);
        }
      },
      command.command);
}

// Every other connection here bound to `session`, which has just moved to
// connection `to`, is told SESSION_MOVED and unbound; its writes not yet
// proposed are refused SESSION_MOVED (ZooKeeper's answer to the old one).
// The move goes into the log too, so the other servers do the same.
void Replica::session_moved_here(ClientId to, SessionId session) {
  std::string why = "session " + std::to_string(session.value());
  why += " moved to another connection on ";
  why += node_name(options_.core.self);
  unbind_moved(session, Zxid{~std::uint64_t{0}}, to, why);
  // Built in place: at -O3 GCC 12 reports a false -Wmaybe-uninitialized
  // inside the command variant's move from a temporary.
  const store::MoveSessionCommand move{session, options_.core.self, Zxid{applied_.value()}};
  if (leading()) {
    to_propose_.emplace_back().command = move;
  } else {
    to_forward_.emplace_back().command.command = move;
  }
}

// A move another server vouched at `at` (MoveSessionCommand): the
// connections here bound to the session before it learn they lost it.
void Replica::session_moved_away(const store::MoveSessionCommand& move) {
  if (move.to == options_.core.self) return;
  std::string why = "session " + std::to_string(move.session.value());
  why += " moved to ";
  why += node_name(move.to);
  unbind_moved(move.session, move.at, std::nullopt, why);
}

void Replica::unbind_moved(SessionId session, Zxid bound_before, std::optional<ClientId> keep,
                           const std::string& why) {
  std::vector<ClientId> others;
  for (auto it = session_clients_.lower_bound({session, ClientId{0}});
       it != session_clients_.end() && it->first == session; ++it) {
    if (it->second == keep) continue;
    if (clients_.at(it->second).bound_at() >= bound_before) continue;
    others.push_back(it->second);
  }
  for (const ClientId id : others) {
    ClientQueue& client = clients_.at(id);
    emit(id, protocol::SessionEvent{protocol::SessionState::moved, session, why});
    client.session_moved_away();
    rebind(id, session, client);
    client.refuse_unproposed_writes(session, Zxid{applied_.value()},
                                    protocol::Status{protocol::Error::SESSION_MOVED, why});
    pump(id, client);
  }
}

void Replica::on_session_gone(SessionId session, protocol::SessionState state) {
  liveness_.forget(session);
  std::vector<ClientId> bound;
  for (auto it = session_clients_.lower_bound({session, ClientId{0}});
       it != session_clients_.end() && it->first == session; ++it) {
    bound.push_back(it->second);
  }
  for (const ClientId id : bound) {
    ClientQueue& client = clients_.at(id);
    if (state == protocol::SessionState::expired) {
      emit(id, protocol::SessionEvent{state, session,
                                      "session " + std::to_string(session.value()) + " expired"});
      client.end_session();
      rebind(id, session, client);
    }
    watches_.remove_client(id);
  }
}

}  // namespace synod::replica
