// The store's configuration, the limits of its own commands, and the client
// protocol's vocabulary it applies (protocol/): node kinds, the stat,
// events, paths and errors are protocol types, named here by using-
// declarations so the store's code reads them unqualified. They are the same
// types, not copies; code outside the store spells them protocol::.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "base/ids.h"
#include "protocol/error.h"
#include "protocol/path.h"
#include "protocol/types.h"

namespace synod::store {

using protocol::ChildEntry;
using protocol::children_page_max;
using protocol::component_problem;
using protocol::data_bytes_max_default;
using protocol::data_bytes_max_limit;
using protocol::Error;
using protocol::error_name;
using protocol::error_status;
using protocol::Event;
using protocol::EventType;
using protocol::multi_ops_max;
using protocol::node_kind_last;
using protocol::NodeKind;
using protocol::ok_status;
using protocol::Path;
using protocol::path_bytes_max;
using protocol::Result;
using protocol::sequence_suffix_bytes;
using protocol::session_timeout_ms_limit;
using protocol::Stat;
using protocol::Status;
using protocol::ttl_ms_max;

// ---- Limits of the store's own commands (STYLE.md habit 6; the ones a
// client sees are in protocol/types.h). Replicas must agree on all of them:
// they decide outcomes, so changing one is a protocol change. ----

// Sessions in one expire command, paths in one TTL removal command.
inline constexpr std::size_t expire_sessions_max = 4096;
inline constexpr std::size_t ttl_removals_max = 4096;
// Log times are milliseconds since the epoch, stamped by the leader.
inline constexpr std::int64_t log_time_ms_max = std::int64_t{1} << 62;
static_assert(log_time_ms_max + ttl_ms_max > log_time_ms_max, "mtime + ttl cannot overflow");
static_assert(log_time_ms_max + session_timeout_ms_limit > log_time_ms_max);

// Snapshot bytes (store.h's layout): fixed, per session, per node beyond its
// name and data.
inline constexpr std::uint64_t snapshot_fixed_bytes = 4 + 1 + 8 + 8 + 4 + 8 + 8 + 4;
inline constexpr std::uint64_t snapshot_session_bytes = 8 + 8 + 8 + 16;
inline constexpr std::uint64_t snapshot_node_bytes = 4 + 4 + 1 + 6 * 8 + 4 + 4 + 4;

struct StoreConfig {
  // Data of one node, in [0, data_bytes_max_limit]. Larger data: TOO_LARGE.
  std::size_t data_bytes_max = data_bytes_max_default;
  // Nodes in the tree, root included. A create beyond it: LIMIT_EXCEEDED.
  std::size_t nodes_max = std::size_t{1} << 26;
  // Open sessions. An open beyond it: LIMIT_EXCEEDED.
  std::size_t sessions_max = std::size_t{1} << 20;
  // The quota (etcd's --quota-backend-bytes): a create or set that would
  // take Store::snapshot_bytes() above it is LIMIT_EXCEEDED ("the store is
  // full"); deletes, and sessions (bounded by sessions_max), always pass. So
  // a snapshot never exceeds bytes_max + snapshot_session_bytes *
  // sessions_max, which server/replica ties to the snapshot file's limit.
  std::uint64_t bytes_max = std::uint64_t{2} << 30;
  // Deliberate bugs the simulator's canaries turn on in replicas (never in
  // synodd; in its reference model only ignore-session-order, whose checks
  // read the model), to prove its checkers fail.
  bool canary_keep_ephemerals_on_expiry = false;  // expiry leaves the ephemerals
  bool canary_ignore_fence = false;               // every fence passes
  // A session's writes apply in whatever order they are chosen, duplicates
  // included (Store::apply's sequence rule is off).
  bool canary_ignore_session_order = false;
};

}  // namespace synod::store
