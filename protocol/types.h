// The value types both ends of the client protocol share: node kinds, the
// ZooKeeper stat, change events, children entries, and the limits that bound
// them. The store applies them, the codec carries them, the client library
// translates them for its public API. Numeric enum values are shared with
// the wire (proto/store.fbs, proto/client.fbs) and never renumbered.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "base/ids.h"

namespace synod::protocol {

// ---- Limits (STYLE.md habit 6). Replicas must agree on all of them: they
// decide outcomes, so changing one is a protocol change. ----

// Default and hard ceiling of a node's data (store::StoreConfig::data_bytes_max).
inline constexpr std::size_t data_bytes_max_default = std::size_t{1} << 20;  // 1 MiB
inline constexpr std::size_t data_bytes_max_limit = std::size_t{64} << 20;
static_assert(data_bytes_max_default <= data_bytes_max_limit);
static_assert(data_bytes_max_limit <= INT32_MAX, "Stat::data_length is an int32");
// Ops in one multi (etcd allows 128 by default; ZooKeeper bounds only bytes).
inline constexpr std::size_t multi_ops_max = 1024;
// Children returned by one children() page.
inline constexpr std::size_t children_page_max = 10'000;
// The hard ceiling of a session's timeout: a client asks for at most this,
// and no server configuration may grant more (the replica grants within its
// ReplicaOptions range, the store refuses an open above it).
inline constexpr std::int64_t session_timeout_ms_limit = 24LL * 3600 * 1000;
// A TTL node's TTL: ZooKeeper's ceiling, 2^40 - 1 ms (about 35 years).
inline constexpr std::int64_t ttl_ms_max = (std::int64_t{1} << 40) - 1;

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
//             the kind separately)
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

// ZooKeeper's numbering (Watcher.Event.EventType), then Synod's own.
// compacted: not a change of the store. The watch named by the event ended
// with a gap: it was being resumed from a zxid whose history the server no
// longer holds (COMPACTED), or the server it moved to refused it. The
// watcher must re-read the state and set the watch again. The store never
// emits it; the client library (client/core) and, in future, a server may.
enum class EventType : std::uint8_t {
  created = 1,
  deleted = 2,
  data_changed = 3,
  children_changed = 4,
  compacted = 5,
};
inline constexpr EventType event_type_last = EventType::compacted;

// One change made by an entry. children_changed names the parent.
struct Event {
  EventType type = EventType::created;
  std::string path;
  Zxid zxid{};
  friend bool operator==(const Event&, const Event&) = default;
};

// One child in a children page: its name (not its path) and stat.
struct ChildEntry {
  std::string name;
  Stat stat;
  friend bool operator==(const ChildEntry&, const ChildEntry&) = default;
};

}  // namespace synod::protocol
