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

void Replica::reload_session_timeouts() {
  session_timeout_ms_.clear();
  for (const store::SessionInfo& info : store_.sessions()) {
    session_timeout_ms_[info.id] = info.timeout_ms;
  }
}

void Replica::note_session_active(SessionId session) {
  auto timeout = session_timeout_ms_.find(session);
  if (timeout == session_timeout_ms_.end()) return;
  if (core_->is_leader()) {
    std::int64_t& deadline = session_deadline_ms_[session];
    deadline = std::max(deadline, now_.monotonic_ms + timeout->second);
  } else {
    touched_since_report_.insert(session);
  }
}

void Replica::on_became_leader() {
  session_deadline_ms_.clear();
  for (const auto& [session, timeout] : session_timeout_ms_) {
    session_deadline_ms_[session] = now_.monotonic_ms + timeout;
  }
  expiring_.clear();
  ttl_removal_proposed_ms_.reset();
  output_.notes.push_back(node_name(options_.core.self) +
                          " leads: " + std::to_string(session_deadline_ms_.size()) +
                          " session(s) get a fresh timeout before any expires");
}

void Replica::session_tick() {
  if (!core_->is_leader()) {
    session_deadline_ms_.clear();
    if (++touch_elapsed_ticks_ >= options_.core.heartbeat_ticks && !touched_since_report_.empty()) {
      touch_elapsed_ticks_ = 0;
      std::vector<std::uint64_t> ids;
      for (SessionId s : touched_since_report_) ids.push_back(s.value());
      if (core_->touch(std::move(ids))) touched_since_report_.clear();
    }
    return;
  }
  // A proposal that was lost (leadership changed hands, the log was full)
  // is made again after an election timeout.
  const std::int64_t retry_ms = options_.tick_ms * options_.core.election_ticks;
  store::ExpireSessionsCommand expire;
  for (const auto& [session, deadline] : session_deadline_ms_) {
    if (deadline >= now_.monotonic_ms) continue;
    auto proposed = expiring_.find(session);
    if (proposed != expiring_.end() && now_.monotonic_ms - proposed->second < retry_ms) continue;
    expire.sessions.push_back(session);
    expiring_[session] = now_.monotonic_ms;
  }
  std::vector<codec::LogCommand> commands;
  // Room for both up front: at -O3 GCC 12 reports a false -Wstringop-overflow
  // inside the variant's move when push_back reallocates here.
  commands.reserve(2);
  if (!expire.sessions.empty()) {
    output_.notes.push_back("leader proposes expiring " + std::to_string(expire.sessions.size()) +
                            " session(s), starting with " +
                            std::to_string(expire.sessions.front().value()));
    commands.push_back(codec::LogCommand{0, SessionId{0}, 0, std::move(expire)});
  }
  if (!ttl_removal_proposed_ms_ || now_.monotonic_ms - *ttl_removal_proposed_ms_ >= retry_ms) {
    std::vector<protocol::Path> paths =
        store_.expired_ttl_nodes(stamp(), options_.ttl_removals_per_entry_max);
    if (!paths.empty()) {
      ttl_removal_proposed_ms_ = now_.monotonic_ms;
      commands.push_back(
          codec::LogCommand{0, SessionId{0}, 0, store::RemoveExpiredTtlCommand{std::move(paths)}});
    }
  }
  if (!commands.empty()) propose_stamped(std::move(commands));
}

void Replica::after_apply_sessions(const codec::LogCommand& command,
                                   const store::ApplyResult& result) {
  std::visit(
      [&](const auto& c) {
        using C = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<C, store::OpenSessionCommand>) {
          if (!result.response.status.ok()) return;
          session_timeout_ms_[result.response.session] = c.timeout_ms;
          if (core_->is_leader()) {
            session_deadline_ms_[result.response.session] = now_.monotonic_ms + c.timeout_ms;
          }
        } else if constexpr (std::is_same_v<C, store::CloseSessionCommand>) {
          if (result.response.status.ok())
            on_session_gone(c.session, protocol::SessionState::closed);
        } else if constexpr (std::is_same_v<C, store::ExpireSessionsCommand>) {
          for (SessionId s : c.sessions) {
            if (!store_.session_exists(s)) on_session_gone(s, protocol::SessionState::expired);
          }
        } else if constexpr (std::is_same_v<C, store::RemoveExpiredTtlCommand>) {
          ttl_removal_proposed_ms_.reset();
        }
      },
      command.command);
}

void Replica::on_session_gone(SessionId session, protocol::SessionState state) {
  session_timeout_ms_.erase(session);
  session_deadline_ms_.erase(session);
  expiring_.erase(session);
  touched_since_report_.erase(session);
  for (auto& [id, client] : clients_) {
    if (client.session != session) continue;
    if (state == protocol::SessionState::expired) {
      emit(id, client,
           protocol::SessionEvent{state, session,
                                  "session " + std::to_string(session.value()) + " expired"});
      client.session = SessionId{0};
    }
    watches_.remove_client(id);
  }
}

}  // namespace synod::replica
