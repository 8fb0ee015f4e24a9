// The messages replicas exchange, one std::variant. consensus/README.md §3
// describes each, in protocol order. The transport may drop, duplicate,
// delay and reorder any of them; none is ever trusted to arrive.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "consensus/types.h"

namespace synod::consensus {

// "May I run?" (README §4.1). Sent before a candidate raises any ballot, so a
// server that was partitioned away does not depose a healthy leader.
struct PreVote {
  Ballot ballot;  // the ballot the candidate would use; identifies the attempt
  Slot chosen;    // the candidate's chosen point
};
struct PreVoteReply {
  Ballot ballot;  // echoes PreVote::ballot
  bool granted = false;
  Ballot promised;  // the voter's promise, so the candidate learns higher rounds
};

// Phase 1a (README §3.1): promise not to accept below `ballot`, and report
// every value accepted at or after `from`.
struct Prepare {
  Ballot ballot;
  Slot from;
  bool transfer = false;  // leadership transfer: acceptors skip stickiness
};
struct PromiseEntry {
  Slot slot;
  Ballot ballot;  // the ballot it was accepted at
  Entry entry;
  bool chosen = false;  // the acceptor knows this value is chosen
};
// Phase 1b, in pages (README §3.1). When granted, `entries` holds the
// accepted values at slots from, from + 1, ... (none when from < log_start),
// as many as fit one message; `more_from` is the first slot of the next page,
// or 0 when this page reaches the log end. When refused, `promised` says why.
struct Promise {
  Ballot ballot;
  Slot from;
  bool granted = false;
  Ballot promised;
  Slot log_start;  // the acceptor's first slot not covered by its snapshot
  Slot chosen;
  std::vector<PromiseEntry> entries;
  Slot more_from{};  // 0: the last page
};

// Phase 2a (README §3.2), also the heartbeat when `entries` is empty: accept
// entries[i] at slot first + i. `chosen` is the leader's chosen point.
struct Accept {
  Ballot ballot;
  Slot first;
  std::vector<Entry> entries;
  Slot chosen;
  std::uint64_t read_seq = 0;  // the leader's latest read-index round (§11)
};
// Phase 2b. When granted, every slot in [the ballot's start, frontier] is
// accepted at `ballot` or known chosen, and durable.
struct Accepted {
  Ballot ballot;
  bool granted = false;
  Ballot promised;
  Slot frontier;
  Slot chosen;
  bool gap = false;  // the Accept started past frontier + 1; resend from there
  std::uint64_t read_seq = 0;  // echoes Accept::read_seq: "you still lead me"
};

// A chunk of the leader's snapshot for a replica whose next slot the leader
// has compacted away (README §5).
struct SnapshotChunk {
  Ballot ballot;
  Slot slot;
  Configuration config;
  std::uint64_t offset = 0;
  std::uint64_t total_bytes = 0;
  std::string data;
};
struct SnapshotAck {
  Ballot ballot;
  bool granted = false;
  Ballot promised;
  Slot slot;
  std::uint64_t next_offset = 0;  // bytes received so far; total when installed
  bool installed = false;
};

// Leadership transfer (README §7): the leader tells a caught-up voter to
// start phase 1 at once, skipping the pre-vote.
struct TimeoutNow {
  Ballot ballot;
};

// Client writes a follower hands to the leader, which stamps and proposes
// them (README §12), as many as fit one message. Lost or refused forwards
// are the client's timeout.
struct Forward {
  std::vector<Entry> entries;
};

// Sessions that were active at a follower, for the leader's liveness
// tracking (README §12). Opaque ids to consensus.
struct Touch {
  std::vector<std::uint64_t> sessions;
};

// Read-index (README §11): a follower asks the leader for a chosen point
// that is safe to read at; the leader answers after one quorum round that
// proves it still leads. `sessions` were active at the follower: the leader
// notes them (as a Touch) before it answers, so an answer proves the leader
// heard of them (README §12). `nonce` is drawn once per life of the
// asking core and echoed, so a reply meant for an earlier life (the same id
// reused after a restart) confirms nothing (README §11). A round that
// `vouches` for a session (a keep-alive, a moved session) is given an index
// that covers everything the leader has proposed, not only what is chosen,
// so an expiry the leader already proposed is applied before the session is
// vouched for (§12).
struct ReadIndex {
  std::uint64_t id = 0;
  std::vector<std::uint64_t> sessions;
  std::uint64_t nonce = 0;
  bool vouches = false;
};
struct ReadIndexReply {
  std::uint64_t id = 0;
  bool ok = false;  // false: not the leader (any more); ask again
  Slot index;
  std::uint64_t nonce = 0;  // echoes ReadIndex::nonce
};

using Message = std::variant<PreVote, PreVoteReply, Prepare, Promise, Accept, Accepted,
                             SnapshotChunk, SnapshotAck, TimeoutNow, Forward, Touch, ReadIndex,
                             ReadIndexReply>;

[[nodiscard]] const char* message_name(const Message& message);

struct Envelope {
  NodeId from;
  NodeId to;
  Message message;
};

}  // namespace synod::consensus
