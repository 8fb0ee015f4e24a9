#include "server/replica/read_rounds.h"

#include <algorithm>
#include <utility>

#include "base/assert.h"

namespace synod::replica {

ReadRounds::ReadRounds(std::int64_t lost_after_ms) : lost_after_ms_(lost_after_ms) {
  SYNOD_ASSERT(lost_after_ms_ >= 1);
}

void ReadRounds::add(ClientId client, std::uint64_t request_id, SessionId vouch_for,
                     Urgency urgency) {
  gathering_.push_back(Request{client, request_id, vouch_for, urgency});
  if (urgency == Urgency::now) ++urgent_gathering_;
}

std::uint64_t ReadRounds::start(std::int64_t now_ms, std::vector<SessionId> touched) {
  SYNOD_ASSERT_MSG(can_start(), "one round in flight, and only with requests on it");
  bool vouches = false;
  for (const Request& r : gathering_) {
    if (r.vouch_for == SessionId{0}) continue;
    touched.push_back(r.vouch_for);
    vouches = true;
  }
  std::sort(touched.begin(), touched.end());
  touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
  in_flight_ = Round{++last_id_, now_ms, std::move(gathering_), std::move(touched), vouches};
  gathering_.clear();
  urgent_gathering_ = 0;
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
  for (const Request& r : round.requests) {
    if (r.urgency == Urgency::now) ++urgent_gathering_;
  }
  round.requests.insert(round.requests.end(), gathering_.begin(), gathering_.end());
  gathering_ = std::move(round.requests);
  return std::move(round.sessions);
}

RoundEnd ReadRounds::finish(const consensus::ReadReady& ready) {
  if (!in_flight_ || ready.id != in_flight_->id) return std::monostate{};
  if (!ready.ok) return RoundFailed{requeue()};
  RoundConfirmed confirmed{ready.index, {}};
  for (const Request& r : in_flight_->requests)
    confirmed.requests[r.client].push_back(r.request_id);
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
  SYNOD_ASSERT(urgent_gathering_ == static_cast<std::size_t>(std::count_if(
                                        gathering_.begin(), gathering_.end(), [](const Request& r) {
                                          return r.urgency == Urgency::now;
                                        })));
  if (!in_flight_) return;
  SYNOD_ASSERT_MSG(!in_flight_->requests.empty(), "a round starts only with requests on it");
  SYNOD_ASSERT(in_flight_->id == last_id_ && last_id_ >= 1);
  SYNOD_ASSERT(std::is_sorted(in_flight_->sessions.begin(), in_flight_->sessions.end()));
  for (const Request& r : in_flight_->requests) {
    if (r.vouch_for == SessionId{0}) continue;
    SYNOD_ASSERT_MSG(
        in_flight_->vouches && std::binary_search(in_flight_->sessions.begin(),
                                                  in_flight_->sessions.end(), r.vouch_for),
        "a round carries every session a request on it vouches for");
  }
}

}  // namespace synod::replica
