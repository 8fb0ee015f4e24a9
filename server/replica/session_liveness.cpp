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
  if (leader) deadline_ms_[session] = now_ms + timeout_ms;
}

void SessionLiveness::forget(SessionId session) {
  timeout_ms_.erase(session);
  deadline_ms_.erase(session);
  expiring_ms_.erase(session);
  touched_.erase(session);
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
    std::int64_t& deadline = deadline_ms_[session];
    deadline = std::max(deadline, now_ms + timeout->second);
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
  for (const auto& [session, timeout] : timeout_ms_) deadline_ms_[session] = now_ms + timeout;
  expiring_ms_.clear();
  ttl_removal_proposed_ms_.reset();
  return deadline_ms_.size();
}

std::optional<std::vector<std::uint64_t>> SessionLiveness::follower_tick() {
  deadline_ms_.clear();
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
  for (const auto& [session, deadline] : deadline_ms_) {
    if (due.size() == max) break;
    if (deadline >= now_ms) continue;
    const auto proposed = expiring_ms_.find(session);
    if (proposed != expiring_ms_.end() && now_ms - proposed->second < retry_ms_) continue;
    due.push_back(session);
    expiring_ms_[session] = now_ms;
  }
  return due;
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
  for (const auto& [session, at] : expiring_ms_) SYNOD_ASSERT(at <= now_ms_);
  if (ttl_removal_proposed_ms_) SYNOD_ASSERT(*ttl_removal_proposed_ms_ <= now_ms_);
}

}  // namespace synod::replica
