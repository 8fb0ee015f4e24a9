// Commands: what a log entry asks the store to do, and what applying it
// answers. The replica turns a client's write request (protocol/messages.h)
// into a Command issued by the connection's session, the leader proposes it,
// and every replica applies it with Store::apply at the entry's slot and log
// time. The ops inside a write are the protocol's (protocol/ops.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "protocol/ops.h"
#include "server/store/types.h"

namespace synod::store {

using protocol::CheckOp;
using protocol::CreateOp;
using protocol::DeleteOp;
using protocol::Fence;
using protocol::MissingParents;
using protocol::MultiOp;
using protocol::Op;
using protocol::OpResult;
using protocol::SetOp;

// One client write, issued by `session`.
struct WriteCommand {
  SessionId session{};
  std::optional<Fence> fence;
  Op op;
};

// All-or-nothing: every op applies in order, or none is visible. At most
// multi_ops_max ops; an empty multi succeeds and changes nothing.
struct MultiCommand {
  SessionId session{};
  std::optional<Fence> fence;  // checked once, before the first op
  std::vector<MultiOp> ops;
};

// Opens a session whose id is the zxid of this entry. timeout_ms in
// [1, session_timeout_ms_limit], as granted by the leader. secret: drawn at
// random by the replica the client asked; moving the session requires it.
struct OpenSessionCommand {
  std::int64_t timeout_ms = 0;
  SessionSecret secret{};
};

// Closes a session and removes its ephemerals in the same entry.
struct CloseSessionCommand {
  SessionId session{};
};

// Proposed by the leader: expires each listed session that still exists
// (unknown ones are skipped), removing their ephemerals in this entry.
// `proposer` is the ballot of the leader that proposed it: an expiry from a
// leadership older than the newest one applied (a value an old leader got
// accepted by a minority, chosen later through a new leader's phase 1) is
// skipped whole. The newer leader gave every session a fresh timeout and may
// have vouched for them since (consensus/README.md §12).
struct ExpireSessionsCommand {
  std::vector<SessionId> sessions;
  Ballot proposer{};
};

// Proposed by the leader from Store::expired_ttl_nodes(): removes each listed
// node that is still a childless TTL node unmodified for its TTL at this
// entry's log time. A node that no longer qualifies (a racing set, a new
// child) is kept, silently.
struct RemoveExpiredTtlCommand {
  std::vector<Path> paths;
};

// No change: a new leader's gap filler, or a sync marker. With `leader`
// set, a new leader's first command: from its slot on, expiries proposed
// under older ballots are skipped (ExpireSessionsCommand).
struct NoopCommand {
  Ballot leader{};
};

// Proposed by the server a session moved to, once the move was vouched
// there: the store changes nothing; every other replica tells its
// connections still bound to the session SESSION_MOVED (ZooKeeper's answer
// to the old connection) and unbinds them.
struct MoveSessionCommand {
  SessionId session{};
  NodeId to{};
  Zxid at{};  // the state `to` had applied when it vouched the move
};

using Command =
    std::variant<NoopCommand, OpenSessionCommand, CloseSessionCommand, ExpireSessionsCommand,
                 RemoveExpiredTtlCommand, WriteCommand, MultiCommand, MoveSessionCommand>;

// What the client that issued the entry is told.
//   status: OK, or the error of the write / the first failing op of a multi
//           (its message names the op).
//   ops:    WriteCommand: exactly one. MultiCommand: one per op; on failure
//           the ops before the failing one say ROLLED_BACK, the failing one
//           its error, the ones after NOT_EXECUTED (ZooKeeper reports OK and
//           RUNTIME_INCONSISTENCY there). Other commands: empty.
//   session: the new session's id for OpenSessionCommand; 0 otherwise.
struct Response {
  Status status;
  std::vector<OpResult> ops;
  SessionId session{};
};

// events: every change the entry made, in order — per op: created/deleted/
// data_changed of the node, then children_changed of its parent; then
// containers removed at the end of the entry. Empty when nothing changed.
struct ApplyResult {
  Response response;
  std::vector<Event> events;
  // Refused because its session had applied a later request (Store::apply):
  // it changed nothing and its response is NOT_EXECUTED.
  bool out_of_order = false;
};

}  // namespace synod::store
