#include "server/replica/client_queue.h"

#include <algorithm>

#include "base/assert.h"

namespace synod::replica {

namespace {

bool is_unanswered_read(const PendingState& state) {
  return std::holds_alternative<ReadAwaitingIndex>(state) ||
         std::holds_alternative<ReadWaitingTurn>(state);
}

bool is_unanswered_write(const PendingState& state) {
  return std::holds_alternative<WriteUnproposed>(state) ||
         std::holds_alternative<WriteProposed>(state);
}

}  // namespace

ClientQueue::ClientQueue(std::uint32_t pending_max, std::int64_t request_timeout_ms)
    : pending_max_(pending_max), request_timeout_ms_(request_timeout_ms) {
  SYNOD_ASSERT(pending_max_ >= 1);
  SYNOD_ASSERT(request_timeout_ms_ >= 1);
}

void ClientQueue::move_session_here(SessionId session, Zxid last_zxid) {
  session_ = session;
  moved_away_ = false;
  bound_at_ = Zxid{~std::uint64_t{0}};  // until vouched_at()
  wait_for_ = std::max(wait_for_, Slot{last_zxid.value()});
  last_zxid_ = std::max(last_zxid_, last_zxid);
}

void ClientQueue::push(std::uint64_t request_id, std::int64_t now_ms, PendingState state) {
  SYNOD_ASSERT_MSG(!full(), "the caller answers LIMIT_EXCEEDED instead");
  SYNOD_ASSERT_MSG(now_ms >= last_arrival_ms_, "requests arrive in time order");
  last_arrival_ms_ = now_ms;
  queue_.push_back(Pending{request_id, now_ms + request_timeout_ms_, std::move(state)});
}

void ClientQueue::push_read(std::uint64_t request_id, std::int64_t now_ms,
                            protocol::ClientBody body, bool linearizable) {
  if (linearizable) {
    push(request_id, now_ms, ReadAwaitingIndex{std::move(body)});
  } else {
    push(request_id, now_ms, ReadWaitingTurn{std::move(body), Slot{0}});
  }
}

void ClientQueue::push_write(std::uint64_t request_id, std::int64_t now_ms,
                             codec::LogCommand command) {
  push(request_id, now_ms, WriteUnproposed{std::move(command)});
}

void ClientQueue::push_answer(std::uint64_t request_id, std::int64_t now_ms,
                              protocol::Response response) {
  SYNOD_ASSERT(response.request_id == request_id);
  push(request_id, now_ms, AnswerReady{std::move(response), true});
}

std::vector<ProposableWrite> ClientQueue::take_proposable() {
  std::vector<ProposableWrite> writes;
  while (propose_from_ < queue_.size()) {
    Pending& p = queue_[propose_from_];
    if (is_unanswered_read(p.state)) break;
    if (auto* write = std::get_if<WriteUnproposed>(&p.state)) {
      const WriteKey key{write->command.session, write->command.sequence};
      writes.push_back(ProposableWrite{p.request_id, std::move(write->command)});
      p.state = WriteProposed{key};
    }
    ++propose_from_;
  }
  return writes;
}

bool ClientQueue::answer_write(std::uint64_t request_id, protocol::Response response,
                               bool restamp) {
  for (Pending& p : queue_) {
    if (p.request_id != request_id || !is_unanswered_write(p.state)) continue;
    if (const auto* opened = std::get_if<protocol::SessionResult>(&response.body)) {
      session_ = opened->session;
      moved_away_ = false;
      bound_at_ = response.zxid;
    }
    p.state = AnswerReady{std::move(response), restamp};
    return true;
  }
  return false;
}

void ClientQueue::refuse_unproposed_writes(SessionId session, Zxid applied,
                                           const protocol::Status& status) {
  for (std::size_t i = propose_from_; i < queue_.size(); ++i) {
    Pending& p = queue_[i];
    const auto* write = std::get_if<WriteUnproposed>(&p.state);
    if (write == nullptr || write->command.session != session) continue;
    p.state = AnswerReady{protocol::Response{p.request_id, applied, status, {}}, true};
  }
}

void ClientQueue::assign_read_index(std::span<const std::uint64_t> request_ids, Slot index) {
  SYNOD_ASSERT(std::is_sorted(request_ids.begin(), request_ids.end()));
  for (Pending& p : queue_) {
    auto* read = std::get_if<ReadAwaitingIndex>(&p.state);
    if (read == nullptr ||
        !std::binary_search(request_ids.begin(), request_ids.end(), p.request_id)) {
      continue;
    }
    ReadWaitingTurn turn{std::move(read->body), index};
    p.state = std::move(turn);
  }
}

Expiry ClientQueue::expire(std::int64_t now_ms, Zxid applied) {
  Expiry expiry;
  for (Pending& p : queue_) {
    if (std::holds_alternative<AnswerReady>(p.state)) continue;
    if (p.deadline_ms > now_ms) break;  // deadlines grow along the queue
    const char* why = is_unanswered_read(p.state)
                          ? "the read timed out; it changed nothing"
                          : "the write timed out; it may or may not have happened";
    if (const auto* proposed = std::get_if<WriteProposed>(&p.state)) {
      expiry.proposed.push_back(ExpiredWrite{p.request_id, proposed->key});
    }
    p.state = AnswerReady{
        protocol::Response{
            p.request_id, applied, protocol::Status{protocol::Error::TIMEOUT, why}, {}},
        true};
    expiry.any = true;
  }
  return expiry;
}

Turn ClientQueue::turn(Slot applied) const {
  if (queue_.empty()) return Turn::idle;
  if (applied < wait_for_) return Turn::waits_for_apply;
  const PendingState& head = queue_.front().state;
  if (const auto* read = std::get_if<ReadWaitingTurn>(&head)) {
    return applied < read->index ? Turn::waits_for_apply : Turn::read;
  }
  return std::holds_alternative<AnswerReady>(head) ? Turn::answer : Turn::blocked;
}

std::uint64_t ClientQueue::head_request_id() const {
  SYNOD_ASSERT(!queue_.empty());
  return queue_.front().request_id;
}

const protocol::ClientBody& ClientQueue::head_read() const {
  SYNOD_ASSERT(!queue_.empty());
  const auto* read = std::get_if<ReadWaitingTurn>(&queue_.front().state);
  SYNOD_ASSERT_MSG(read != nullptr, "only a read waiting its turn is evaluated");
  return read->body;
}

void ClientQueue::answer_head(protocol::Response response) {
  SYNOD_ASSERT(!queue_.empty());
  Pending& head = queue_.front();
  SYNOD_ASSERT(std::holds_alternative<ReadWaitingTurn>(head.state));
  SYNOD_ASSERT(response.request_id == head.request_id);
  head.state = AnswerReady{std::move(response), false};
}

protocol::Response ClientQueue::pop_answer() {
  SYNOD_ASSERT(!queue_.empty());
  auto* ready = std::get_if<AnswerReady>(&queue_.front().state);
  SYNOD_ASSERT_MSG(ready != nullptr, "only an answer at the head leaves");
  protocol::Response response = std::move(ready->response);
  // An answer that is not a result of its own (an error before applying,
  // a keep-alive) claims nothing newer than what the connection has seen,
  // so the zxids a connection receives never go back.
  if (ready->restamp) response.zxid = last_zxid_;
  SYNOD_ASSERT(response.zxid >= last_zxid_);
  last_zxid_ = response.zxid;
  queue_.pop_front();
  if (propose_from_ > 0) --propose_from_;
  return response;
}

void ClientQueue::check_invariants() const {
  SYNOD_ASSERT(queue_.size() <= pending_max_);
  SYNOD_ASSERT(propose_from_ <= queue_.size());
  std::int64_t previous = std::numeric_limits<std::int64_t>::min();
  for (std::size_t i = 0; i < queue_.size(); ++i) {
    const Pending& p = queue_[i];
    SYNOD_ASSERT_MSG(p.deadline_ms >= previous, "deadlines grow along the queue");
    previous = p.deadline_ms;
    if (i < propose_from_) {
      SYNOD_ASSERT_MSG(std::holds_alternative<WriteProposed>(p.state) ||
                           std::holds_alternative<AnswerReady>(p.state),
                       "nothing before the proposing point waits to be proposed or read");
    }
  }
}

}  // namespace synod::replica
