#include "server/replica/read_rounds.h"

#include <algorithm>
#include <utility>

#include "base/assert.h"

namespace synod::replica {

ReadRounds::ReadRounds(std::int64_t lost_after_ms) : lost_after_ms_(lost_after_ms) {
  SYNOD_ASSERT(lost_after_ms_ >= 1);
}

void ReadRounds::add(ClientId client, std::uint64_t request_id) {
  gathering_.emplace_back(client, request_id);
}

std::uint64_t ReadRounds::start(std::int64_t now_ms, std::vector<SessionId> sessions) {
  SYNOD_ASSERT_MSG(can_start(), "one round in flight, and only with requests on it");
  in_flight_ = Round{++last_id_, now_ms, std::move(gathering_), std::move(sessions)};
  gathering_.clear();
  return last_id_;
}

const std::vector<SessionId>& ReadRounds::carried() const {
  static const std::vector<SessionId> none;
  return in_flight_ ? in_flight_->sessions : none;
}

std::vector<SessionId> ReadRounds::requeue() {
  SYNOD_ASSERT(in_flight_);
  Round round = std::move(*in_flight_);
  in_flight_.reset();
  round.requests.insert(round.requests.end(), gathering_.begin(), gathering_.end());
  gathering_ = std::move(round.requests);
  return std::move(round.sessions);
}

RoundEnd ReadRounds::finish(const consensus::ReadReady& ready) {
  if (!in_flight_ || ready.id != in_flight_->id) return std::monostate{};
  if (!ready.ok) return RoundFailed{requeue()};
  RoundConfirmed confirmed{ready.index, {}};
  for (const auto& [client, request_id] : in_flight_->requests) {
    confirmed.requests[client].push_back(request_id);
  }
  for (auto& [client, request_ids] : confirmed.requests) {
    std::sort(request_ids.begin(), request_ids.end());
  }
  in_flight_.reset();
  return confirmed;
}

std::optional<std::vector<SessionId>> ReadRounds::give_up_if_lost(std::int64_t now_ms) {
  if (!in_flight_ || now_ms - in_flight_->started_ms <= lost_after_ms_) return std::nullopt;
  return requeue();
}

void ReadRounds::check_invariants() const {
  if (!in_flight_) return;
  SYNOD_ASSERT_MSG(!in_flight_->requests.empty(), "a round starts only with requests on it");
  SYNOD_ASSERT(in_flight_->id == last_id_ && last_id_ >= 1);
}

}  // namespace synod::replica
