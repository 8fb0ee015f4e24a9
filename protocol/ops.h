// The ops of a client write, as both ends of the client protocol hold them:
// create, delete, set and check (alone or inside a multi), the fence that
// guards a write, and what each op answers. The client library builds them,
// the codec carries them (proto/store.fbs), the store applies them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "base/ids.h"
#include "protocol/error.h"
#include "protocol/path.h"
#include "protocol/types.h"

namespace synod::protocol {

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

// One op of a multi, with the fence checked just before it.
struct MultiOp {
  Op op;
  std::optional<Fence> fence;  // checked just before this op, after earlier ops
};

// The result of one op. path: the created path (with its sequence suffix),
// for a create. stat: the node's stat after a create or set.
struct OpResult {
  Error error = Error::OK;
  std::string path;
  std::optional<Stat> stat;
  friend bool operator==(const OpResult&, const OpResult&) = default;
};

}  // namespace synod::protocol
