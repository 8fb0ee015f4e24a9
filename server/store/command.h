// Commands: what a log entry asks the store to do, and what applying it
// answers. The codec decodes a client request into a Command (parsing paths
// once, there), the leader proposes it, and every replica applies it with
// Store::apply at the entry's slot and log time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "server/store/path.h"
#include "server/store/status.h"
#include "server/store/types.h"

namespace synod::store {

// Rejects the write with FENCED unless the node at `path` exists and its
// czxid equals `token` (the lock node's czxid, handed out as the token).
struct Fence {
  Path path;
  Zxid token{};
};

enum class MissingParents : std::uint8_t {
  fail = 0,               // a missing parent is NO_NODE (ZooKeeper create)
  create_persistent = 1,  // create them as persistent nodes (creatingParentsIfNeeded)
  create_container = 2,   // create them as containers (Curator's ParentContainers)
};

// Create `path`. kind ephemeral: owned by the issuing session. sequential:
// the last component gets the parent's cversion as %010d appended (not
// allowed with container). ttl_ms: in [1, ttl_ms_max] for kind ttl, 0 for
// every other kind. A path with a trailing '/' (ZooKeeper's "/q/" +
// sequential) is not a Path; use a prefix such as "/q/n-".
struct CreateOp {
  Path path = Path::root();
  std::string data;
  NodeKind kind = NodeKind::persistent;
  bool sequential = false;
  std::int64_t ttl_ms = 0;
  MissingParents parents = MissingParents::fail;
};

// An absent expected_version matches any version (ZooKeeper's -1).
struct DeleteOp {
  Path path = Path::root();
  std::optional<std::int32_t> expected_version;
};

struct SetOp {
  Path path = Path::root();
  std::string data;
  std::optional<std::int32_t> expected_version;
};

// NO_NODE if absent, BAD_VERSION if the version differs; changes nothing.
struct CheckOp {
  Path path = Path::root();
  std::optional<std::int32_t> expected_version;
};

using Op = std::variant<CreateOp, DeleteOp, SetOp, CheckOp>;

// One client write, issued by `session`.
struct WriteCommand {
  SessionId session{};
  std::optional<Fence> fence;
  Op op;
};

struct MultiOp {
  Op op;
  std::optional<Fence> fence;  // checked just before this op, after earlier ops
};

// All-or-nothing: every op applies in order, or none is visible. At most
// multi_ops_max ops; an empty multi succeeds and changes nothing.
struct MultiCommand {
  SessionId session{};
  std::optional<Fence> fence;  // checked once, before the first op
  std::vector<MultiOp> ops;
};

// Opens a session whose id is the zxid of this entry. timeout_ms in
// [1, session_timeout_ms_max], as granted by the leader.
struct OpenSessionCommand {
  std::int64_t timeout_ms = 0;
};

// Closes a session and removes its ephemerals in the same entry.
struct CloseSessionCommand {
  SessionId session{};
};

// Proposed by the leader: expires each listed session that still exists
// (unknown ones are skipped), removing their ephemerals in this entry.
struct ExpireSessionsCommand {
  std::vector<SessionId> sessions;
};

// Proposed by the leader from Store::expired_ttl_nodes(): removes each listed
// node that is still a childless TTL node unmodified for its TTL at this
// entry's log time. A node that no longer qualifies (a racing set, a new
// child) is kept, silently.
struct RemoveExpiredTtlCommand {
  std::vector<Path> paths;
};

// No change: a new leader's gap filler, or a sync marker.
struct NoopCommand {};

using Command =
    std::variant<NoopCommand, OpenSessionCommand, CloseSessionCommand, ExpireSessionsCommand,
                 RemoveExpiredTtlCommand, WriteCommand, MultiCommand>;

// The result of one op. path: the created path (with its sequence suffix),
// for a create. stat: the node's stat after a create or set.
struct OpResult {
  Error error = Error::OK;
  std::string path;
  std::optional<Stat> stat;
  friend bool operator==(const OpResult&, const OpResult&) = default;
};

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
