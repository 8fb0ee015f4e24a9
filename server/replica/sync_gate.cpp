#include "server/replica/sync_gate.h"

#include <utility>

#include "base/assert.h"

namespace synod::replica {

void SyncGate::wrote(std::uint64_t token, bool needs_sync) {
  SYNOD_ASSERT_MSG(token > written_token_, "each persist batch has a new token");
  written_token_ = token;
  if (needs_sync) sync_wanted_token_ = token;
}

void SyncGate::hold(std::uint64_t token, Votes votes, Votes& send) {
  SYNOD_ASSERT_MSG(token <= written_token_, "a vote claims only what was written");
  if (token <= durable_token_) {
    for (consensus::Envelope& e : votes) send.push_back(std::move(e));
    return;
  }
  if (!waiting_.empty() && waiting_.back().token == token) {
    for (consensus::Envelope& e : votes) waiting_.back().votes.push_back(std::move(e));
    return;
  }
  SYNOD_ASSERT(waiting_.empty() || waiting_.back().token < token);
  waiting_.push_back(Waiting{token, std::move(votes)});
}

bool SyncGate::made_durable(std::uint64_t token, Votes& send) {
  SYNOD_ASSERT_MSG(token <= written_token_, "a sync covers only what was written");
  if (token <= durable_token_) return false;  // a later sync covered it
  durable_token_ = token;
  while (!waiting_.empty() && waiting_.front().token <= durable_token_) {
    for (consensus::Envelope& e : waiting_.front().votes) send.push_back(std::move(e));
    waiting_.pop_front();
  }
  return true;
}

bool SyncGate::wants_sync() const {
  return sync_wanted_token_ > durable_token_ || !waiting_.empty();
}

void SyncGate::check_invariants() const {
  SYNOD_ASSERT(durable_token_ <= written_token_);
  SYNOD_ASSERT(sync_wanted_token_ <= written_token_);
  SYNOD_ASSERT(waiting_.size() <= written_token_ - durable_token_);
  std::uint64_t previous = durable_token_;
  for (const Waiting& w : waiting_) {
    SYNOD_ASSERT_MSG(w.token > previous, "kept in increasing token, above durable");
    SYNOD_ASSERT(w.token <= written_token_);
    previous = w.token;
  }
}

}  // namespace synod::replica
