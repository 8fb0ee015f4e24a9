// The store's public value types: node kinds, the ZooKeeper stat, watch
// events, and the limits that bound them. Numeric enum values are shared
// with the wire (proto/client.fbs) and never renumbered.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "base/ids.h"
#include "server/store/path.h"

namespace synod::store {

// ---- Limits (STYLE.md habit 6). Replicas must agree on all of them: they
// decide outcomes, so changing one is a protocol change. ----

// Default and hard ceiling of StoreConfig::data_bytes_max.
inline constexpr std::size_t data_bytes_max_default = std::size_t{1} << 20;  // 1 MiB
inline constexpr std::size_t data_bytes_max_limit = std::size_t{64} << 20;
static_assert(data_bytes_max_default <= data_bytes_max_limit);
static_assert(data_bytes_max_limit <= INT32_MAX, "Stat::data_length is an int32");
// Ops in one multi (etcd allows 128 by default; ZooKeeper bounds only bytes).
inline constexpr std::size_t multi_ops_max = 1024;
// Sessions in one expire command, paths in one TTL removal command.
inline constexpr std::size_t expire_sessions_max = 4096;
inline constexpr std::size_t ttl_removals_max = 4096;
// Children returned by one children() page.
inline constexpr std::size_t children_page_max = 10'000;
// A session's timeout, as granted by the leader (which clamps requests).
inline constexpr std::int64_t session_timeout_ms_max = 24LL * 3600 * 1000;
// A TTL node's TTL: ZooKeeper's ceiling, 2^40 - 1 ms (about 35 years).
inline constexpr std::int64_t ttl_ms_max = (std::int64_t{1} << 40) - 1;
// Log times are milliseconds since the epoch, stamped by the leader.
inline constexpr std::int64_t log_time_ms_max = std::int64_t{1} << 62;
static_assert(log_time_ms_max + ttl_ms_max > log_time_ms_max, "mtime + ttl cannot overflow");
static_assert(log_time_ms_max + session_timeout_ms_max > log_time_ms_max);

struct StoreConfig {
  // Data of one node, in [0, data_bytes_max_limit]. Larger data: TOO_LARGE.
  std::size_t data_bytes_max = data_bytes_max_default;
  // Nodes in the tree, root included. A create beyond it: LIMIT_EXCEEDED.
  std::size_t nodes_max = std::size_t{1} << 26;
  // Open sessions. An open beyond it: LIMIT_EXCEEDED.
  std::size_t sessions_max = std::size_t{1} << 20;
  // Deliberate bugs the simulator's canaries turn on in replicas (never in
  // synodd; in its reference model only ignore-session-order, whose checks
  // read the model), to prove its checkers fail.
  bool canary_keep_ephemerals_on_expiry = false;  // expiry leaves the ephemerals
  bool canary_ignore_fence = false;               // every fence passes
  // A session's writes apply in whatever order they are chosen, duplicates
  // included (Store::apply's sequence rule is off).
  bool canary_ignore_session_order = false;
};

enum class NodeKind : std::uint8_t {
  persistent = 0,
  ephemeral = 1,  // owned by a session; no children; removed with the session
  container = 2,  // removed when its last child is removed
  ttl = 3,        // removed once unmodified and childless for ttl_ms
};
inline constexpr std::uint8_t node_kind_last = 3;

// A node's stat, exactly as ZooKeeper defines it (minus the ACL version,
// which Synod does not have):
//   czxid   zxid of the entry that created the node
//   mzxid   zxid of the entry that last set its data (= czxid until then)
//   pzxid   zxid of the entry that last added or removed a child (= czxid
//           until then)
//   ctime_ms, mtime_ms  log times (leader-stamped ms) of those entries
//   version   number of data changes (sets), from 0
//   cversion  number of child additions plus removals, from 0; the next
//             sequential child's suffix
//   ephemeral_owner  the owning session of an ephemeral node, 0 otherwise
//             (ZooKeeper also encodes container/TTL kinds here; Synod reports
//             the kind separately, in NodeView)
//   num_children, data_length
struct Stat {
  Zxid czxid{};
  Zxid mzxid{};
  Zxid pzxid{};
  std::int64_t ctime_ms = 0;
  std::int64_t mtime_ms = 0;
  std::int32_t version = 0;
  std::int32_t cversion = 0;
  SessionId ephemeral_owner{};
  std::int32_t num_children = 0;
  std::int32_t data_length = 0;
  friend bool operator==(const Stat&, const Stat&) = default;
};

// ZooKeeper's numbering (Watcher.Event.EventType).
enum class EventType : std::uint8_t {
  created = 1,
  deleted = 2,
  data_changed = 3,
  children_changed = 4,
};

// One change made by an entry. children_changed names the parent.
struct Event {
  EventType type = EventType::created;
  std::string path;
  Zxid zxid{};
  friend bool operator==(const Event&, const Event&) = default;
};

}  // namespace synod::store
