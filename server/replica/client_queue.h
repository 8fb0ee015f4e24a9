// ClientQueue: one connection's requests, answered strictly in the order they
// arrived (DESIGN.md "Wire protocol": a session's requests are answered in
// the order sent), with the session the connection acts as.
//
// ## The states of a pending request (Pending::state, one variant)
//
//   ReadAwaitingIndex --read index--> ReadWaitingTurn --evaluated--> AnswerReady
//   ReadWaitingTurn (a sequential read, or a watch operation: index 0)
//   WriteUnproposed --proposed--> WriteProposed --applied / refused--> AnswerReady
//   any unanswered state --deadline passed--> AnswerReady (TIMEOUT)
//   AnswerReady --at the head--> sent and popped
//
// A read is evaluated only at the head of the queue, and only once the replica
// has applied its read index: it sees every write sent before it and none
// sent after. A write is proposed only when every request before it is
// answered or a proposed write: a read sent before a write must never see it,
// and reads are served at whatever the replica has applied. take_proposable()
// hands those writes on; nothing behind an unanswered read moves.
//
// ## Zxids
// Every answer leaves at the head, in order. An answer that is not a result of
// its own (an error before applying, a timeout, a keep-alive refused, a write
// not executed) is restamped with the highest zxid the connection has been
// sent, so the zxids a connection receives never go back (asserted for the
// others). A moved session answers nothing before the replica has applied
// the zxid the client had seen (wait_for()).
//
// ## Bounds
// At most `pending_max` requests wait (push_*() asserts room: the caller
// answers LIMIT_EXCEEDED when full()). A request not answered within
// `request_timeout_ms` of its arrival is answered TIMEOUT by expire(); arrivals
// come in time order (asserted), so deadlines grow along the queue and
// expire() stops at the first request still in time.
//
// Deterministic and single-threaded; it evaluates nothing itself: the
// replica does the reads, the proposing and the sending.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <limits>
#include <span>
#include <utility>
#include <variant>
#include <vector>

#include "base/ids.h"
#include "protocol/messages.h"
#include "server/codec/peer.h"

namespace synod::replica {

// Requests one connection may have waiting (ReplicaOptions::
// pending_per_client_max). The runtime's frame queue holds at least twice as
// many frames (a static_assert in server/runtime/client_connection.h): every
// pending answer, and as many watch events, fit.
inline constexpr std::uint32_t pending_per_client_max_default = 4096;
static_assert(pending_per_client_max_default >= 1);

// A write in the log: its session and the sequence that session gave it (for
// an open: session 0 and a nonce). How an applied entry finds its waiter.
using WriteKey = std::pair<SessionId, std::uint64_t>;

// The states of one pending request; see the diagram above.
struct ReadAwaitingIndex {  // linearizable: waits for its round's read index
  protocol::ClientBody body;
};
struct ReadWaitingTurn {  // evaluated at the head once applied reaches `index`
  protocol::ClientBody body;
  Slot index;
};
struct WriteUnproposed {  // waits for every earlier read to be answered
  codec::LogCommand command;
};
struct WriteProposed {  // handed to consensus; waits for its entry
  WriteKey key;
};
struct AnswerReady {  // sent when it reaches the head
  protocol::Response response;
  bool restamp = false;  // not a result of its own: carries the last zxid sent
};
using PendingState =
    std::variant<ReadAwaitingIndex, ReadWaitingTurn, WriteUnproposed, WriteProposed, AnswerReady>;

struct Pending {
  std::uint64_t request_id = 0;
  std::int64_t deadline_ms = 0;  // answered TIMEOUT after this
  PendingState state;
};

// What the head of the queue waits for (turn()).
enum class Turn : std::uint8_t {
  idle,             // nothing waits
  blocked,          // a read waits for its read index, or a write for its entry
  waits_for_apply,  // the replica must apply more first (pump again after)
  read,             // a read to evaluate now: answer_head() with its answer
  answer,           // an answer to send now: pop_answer()
};

// A write take_proposable() hands on, in queue order.
struct ProposableWrite {
  std::uint64_t request_id = 0;
  codec::LogCommand command;
};

// What expire() timed out: whether anything, and the proposed writes among
// it, which the replica stops waiting for.
struct ExpiredWrite {
  std::uint64_t request_id = 0;
  WriteKey key;
};
struct Expiry {
  bool any = false;
  std::vector<ExpiredWrite> proposed;
};

class ClientQueue {
 public:
  // pending_max >= 1, request_timeout_ms >= 1 (asserted).
  ClientQueue(std::uint32_t pending_max, std::int64_t request_timeout_ms);

  // ---- the session the connection acts as (0: none) ----
  [[nodiscard]] SessionId session() const { return session_; }
  void end_session() { session_ = SessionId{0}; }
  // The session moved to another connection: unbound, and moved_away()
  // until this connection opens or moves a session itself.
  void session_moved_away() {
    session_ = SessionId{0};
    moved_away_ = true;
  }
  [[nodiscard]] bool moved_away() const { return moved_away_; }
  // When the session became this connection's: the zxid of its open, or
  // of the applied state its move was vouched at; the newest possible while
  // a move waits for its vouch. A MoveSessionCommand from another server
  // unbinds only connections bound before that move was vouched.
  [[nodiscard]] Zxid bound_at() const { return bound_at_; }
  void vouched_at(Zxid zxid) { bound_at_ = zxid; }
  // Answers `status` (stamped `applied`, then restamped) every write of
  // `session` not yet proposed: a refused move's writes, queued as the
  // session the connection did not get.
  void refuse_unproposed_writes(SessionId session, Zxid applied, const protocol::Status& status);
  // The client moves `session` here, having seen up to `last_zxid`: nothing
  // is answered before the replica has applied it.
  void move_session_here(SessionId session, Zxid last_zxid);
  [[nodiscard]] Slot wait_for() const { return wait_for_; }
  [[nodiscard]] Zxid last_zxid() const { return last_zxid_; }

  // ---- arrivals, at `now_ms` (never earlier than the last) ----
  [[nodiscard]] bool full() const { return queue_.size() >= pending_max_; }
  [[nodiscard]] std::size_t size() const { return queue_.size(); }
  void push_read(std::uint64_t request_id, std::int64_t now_ms, protocol::ClientBody body,
                 bool linearizable);
  void push_write(std::uint64_t request_id, std::int64_t now_ms, codec::LogCommand command);
  // Answered at once (restamped: it claims no zxid of its own).
  void push_answer(std::uint64_t request_id, std::int64_t now_ms, protocol::Response response);

  // ---- progress ----
  // The writes no longer behind an unanswered read, now WriteProposed.
  [[nodiscard]] std::vector<ProposableWrite> take_proposable();
  // The first unanswered write with `request_id` gets its answer; an opened
  // session becomes the connection's. False when none waits.
  bool answer_write(std::uint64_t request_id, protocol::Response response, bool restamp);
  // Every ReadAwaitingIndex whose request id is in `request_ids` (sorted)
  // waits for `index` now.
  void assign_read_index(std::span<const std::uint64_t> request_ids, Slot index);
  // Answers TIMEOUT (stamped `applied`, then restamped) every unanswered
  // request whose deadline is at or before `now_ms`.
  [[nodiscard]] Expiry expire(std::int64_t now_ms, Zxid applied);

  // ---- the head ----
  [[nodiscard]] Turn turn(Slot applied) const;
  // turn() == read: the head's request id and what to evaluate.
  [[nodiscard]] std::uint64_t head_request_id() const;
  [[nodiscard]] const protocol::ClientBody& head_read() const;
  // turn() == read: the head's answer, as evaluated.
  void answer_head(protocol::Response response);
  // turn() == answer: removes the head and returns its answer, restamped if
  // it claims no zxid of its own; the connection's last zxid becomes its.
  [[nodiscard]] protocol::Response pop_answer();

  // Asserts the bound, that everything before the proposing point is
  // answered or proposed, and that deadlines grow. O(size).
  void check_invariants() const;

 private:
  void push(std::uint64_t request_id, std::int64_t now_ms, PendingState state);

  std::uint32_t pending_max_;
  std::int64_t request_timeout_ms_;
  std::int64_t last_arrival_ms_ = std::numeric_limits<std::int64_t>::min();

  SessionId session_{};
  bool moved_away_ = false;  // session_moved_away() since the last open or move
  Zxid bound_at_{};
  Slot wait_for_{};   // a moved session: answer nothing before applying this
  Zxid last_zxid_{};  // the highest zxid sent on this connection
  std::deque<Pending> queue_;
  // Every request in queue_[0, propose_from_) is answered or a proposed
  // write: take_proposable() looks no further back.
  std::size_t propose_from_ = 0;
};

}  // namespace synod::replica
