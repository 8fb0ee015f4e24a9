#include "server/replica/session_liveness.h"

#include <algorithm>

#include "base/assert.h"

namespace synod::replica {

SessionLiveness::SessionLiveness(std::int64_t retry_ms, std::uint32_t report_ticks)
    : retry_ms_(retry_ms), report_ticks_(report_ticks) {
  SYNOD_ASSERT(retry_ms_ >= 1);
  SYNOD_ASSERT(report_ticks_ >= 1);
}

void SessionLiveness::saw_time(std::int64_t now_ms) {
  SYNOD_ASSERT_MSG(now_ms >= now_ms_, "the replica's monotonic clock never goes back");
  now_ms_ = now_ms;
}

void SessionLiveness::reload(const std::vector<store::SessionInfo>& sessions) {
  timeout_ms_.clear();
  for (const store::SessionInfo& info : sessions) timeout_ms_[info.id] = info.timeout_ms;
}

void SessionLiveness::opened(SessionId session, std::int64_t timeout_ms, bool leader,
                             std::int64_t now_ms) {
  saw_time(now_ms);
  timeout_ms_[session] = timeout_ms;
  if (leader) set_deadline(session, now_ms + timeout_ms);
}

void SessionLiveness::forget(SessionId session) {
  timeout_ms_.erase(session);
  if (const auto d = deadline_ms_.find(session); d != deadline_ms_.end()) {
    by_deadline_.erase({d->second, session});
    deadline_ms_.erase(d);
  }
  if (const auto e = expiring_ms_.find(session); e != expiring_ms_.end()) {
    by_proposal_.erase({e->second, session});
    expiring_ms_.erase(e);
  }
  touched_.erase(session);
}

// Moves the session's deadline; an expiring session stays indexed by its
// proposal until retry_lost_proposals() looks at it again.
void SessionLiveness::set_deadline(SessionId session, std::int64_t deadline_ms) {
  auto [it, inserted] = deadline_ms_.try_emplace(session, deadline_ms);
  const bool expiring = expiring_ms_.contains(session);
  if (!inserted) {
    if (!expiring) by_deadline_.erase({it->second, session});
    it->second = deadline_ms;
  }
  if (!expiring) by_deadline_.insert({deadline_ms, session});
}

std::int64_t SessionLiveness::timeout_ms(SessionId session) const {
  const auto it = timeout_ms_.find(session);
  SYNOD_ASSERT_MSG(it != timeout_ms_.end(), "the mirror holds every session the store holds");
  return it->second;
}

void SessionLiveness::note_active(SessionId session, bool leader, std::int64_t now_ms) {
  saw_time(now_ms);
  const auto timeout = timeout_ms_.find(session);
  if (timeout == timeout_ms_.end()) return;
  if (leader) {
    const auto known = deadline_ms_.find(session);
    const std::int64_t pushed = now_ms + timeout->second;
    if (known == deadline_ms_.end() || known->second < pushed) set_deadline(session, pushed);
  } else {
    touched_.insert(session);
  }
}

std::vector<SessionId> SessionLiveness::take_touched() {
  std::vector<SessionId> sessions(touched_.begin(), touched_.end());
  touched_.clear();
  return sessions;
}

void SessionLiveness::touch_again(std::span<const SessionId> sessions) {
  touched_.insert(sessions.begin(), sessions.end());
}

std::size_t SessionLiveness::became_leader(std::int64_t now_ms) {
  saw_time(now_ms);
  deadline_ms_.clear();
  by_deadline_.clear();
  expiring_ms_.clear();
  by_proposal_.clear();
  for (const auto& [session, timeout] : timeout_ms_) set_deadline(session, now_ms + timeout);
  ttl_removal_proposed_ms_.reset();
  return deadline_ms_.size();
}

std::optional<std::vector<std::uint64_t>> SessionLiveness::follower_tick() {
  deadline_ms_.clear();
  by_deadline_.clear();
  expiring_ms_.clear();
  by_proposal_.clear();
  if (++report_elapsed_ticks_ < report_ticks_ || touched_.empty()) return std::nullopt;
  report_elapsed_ticks_ = 0;
  std::vector<std::uint64_t> ids;
  for (const SessionId s : touched_) ids.push_back(s.value());
  return ids;
}

std::vector<SessionId> SessionLiveness::due_for_expiry(std::int64_t now_ms, std::size_t max) {
  SYNOD_ASSERT(max >= 1);
  saw_time(now_ms);
  std::vector<SessionId> due;
  retry_lost_proposals(now_ms, max, due);
  while (due.size() < max && !by_deadline_.empty() && by_deadline_.begin()->first < now_ms) {
    const SessionId session = by_deadline_.begin()->second;
    by_deadline_.erase(by_deadline_.begin());
    expiring_ms_[session] = now_ms;
    by_proposal_.insert({now_ms, session});
    due.push_back(session);
  }
  return due;
}

// Proposals made retry_ms ago or more were lost (an applied expiry forgets
// its sessions): each is proposed again if the session is still overdue,
// and is an ordinary session again if it was heard from meanwhile.
void SessionLiveness::retry_lost_proposals(std::int64_t now_ms, std::size_t max,
                                           std::vector<SessionId>& due) {
  while (due.size() < max && !by_proposal_.empty() &&
         now_ms - by_proposal_.begin()->first >= retry_ms_) {
    const SessionId session = by_proposal_.begin()->second;
    by_proposal_.erase(by_proposal_.begin());
    const std::int64_t deadline = deadline_ms_.at(session);
    if (deadline >= now_ms) {
      expiring_ms_.erase(session);
      by_deadline_.insert({deadline, session});
      continue;
    }
    expiring_ms_[session] = now_ms;
    by_proposal_.insert({now_ms, session});
    due.push_back(session);
  }
}

bool SessionLiveness::ttl_removal_due(std::int64_t now_ms) const {
  return !ttl_removal_proposed_ms_ || now_ms - *ttl_removal_proposed_ms_ >= retry_ms_;
}

void SessionLiveness::ttl_removal_proposed(std::int64_t now_ms) {
  saw_time(now_ms);
  ttl_removal_proposed_ms_ = now_ms;
}

void SessionLiveness::check_invariants(const store::Store& store) const {
  const std::vector<store::SessionInfo> sessions = store.sessions();
  SYNOD_ASSERT_MSG(sessions.size() == timeout_ms_.size(), "the mirror matches the store");
  for (const store::SessionInfo& info : sessions) {
    const auto it = timeout_ms_.find(info.id);
    SYNOD_ASSERT(it != timeout_ms_.end() && it->second == info.timeout_ms);
  }
  for (const auto& [session, at] : expiring_ms_) {
    SYNOD_ASSERT(at <= now_ms_);
    SYNOD_ASSERT(deadline_ms_.contains(session) && by_proposal_.contains({at, session}));
  }
  SYNOD_ASSERT(by_proposal_.size() == expiring_ms_.size());
  SYNOD_ASSERT_MSG(by_deadline_.size() + by_proposal_.size() == deadline_ms_.size(),
                   "every session with a deadline is indexed once");
  for (const auto& [session, deadline] : deadline_ms_) {
    SYNOD_ASSERT(expiring_ms_.contains(session) || by_deadline_.contains({deadline, session}));
  }
  if (ttl_removal_proposed_ms_) SYNOD_ASSERT(*ttl_removal_proposed_ms_ <= now_ms_);
}

}  // namespace synod::replica
