// Store: Synod's replicated state machine — the node tree, sessions,
// ephemerals, sequences and fences (DESIGN.md, "Store").
//
// Deterministic (DESIGN.md, "Determinism is the backbone"): the state after
// apply() depends only on the previous state and the arguments. Time enters
// only as the leader-stamped log time of the entry, never from a clock. Two
// replicas that apply the same entries hold the same digest() and serialize
// the same snapshot bytes.
//
// Not thread-safe: the replica calls it from one thread. Reads are const and
// see the state at applied_zxid(), so a read (including a multi-page
// children() listing between two applies) is consistent at one zxid.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/ids.h"
#include "protocol/error.h"
#include "protocol/path.h"
#include "server/store/command.h"
#include "server/store/types.h"

namespace synod::store {

class Node;
struct NodeMeta;
class SnapshotReader;

// A node as get() returns it. `data` views the store's copy: valid until the
// next apply() or load_snapshot().
struct NodeView {
  Stat stat;
  std::string_view data;
  NodeKind kind = NodeKind::persistent;
  std::int64_t ttl_ms = 0;  // kind ttl only
};

// One page of children in bytewise name order. more: children after the
// last entry exist; pass entries.back().name as `after` for the next page.
struct ChildrenPage {
  std::vector<ChildEntry> entries;
  bool more = false;
};

struct SessionInfo {
  SessionId id{};
  std::int64_t timeout_ms = 0;
  SessionSecret secret{};
  friend bool operator==(const SessionInfo&, const SessionInfo&) = default;
};

// Snapshot byte layout (serialize_snapshot / load_snapshot). All integers
// little-endian; the same state always gives the same bytes.
//
//   offset 0   magic "SYND" (4 bytes)
//          4   version u8 (store_snapshot_version = 3)
//          5   applied_zxid u64
//              leadership round u64, node u32 (the newest leader's
//              NoopCommand; version 2 has none: it reads as 0)
//              session_count u64, then per session in id order:
//                id u64, timeout_ms i64, last_sequence u64,
//                secret_high u64, secret_low u64 (version 2 has no secret:
//                it reads as 0)
//              node_count u64 (root included), then per node in pre-order
//              (children in bytewise name order):
//                name_length u32, name bytes (empty for the root),
//                child_count u32, kind u8, owner_or_ttl u64,
//                czxid u64, mzxid u64, pzxid u64, ctime_ms i64, mtime_ms i64,
//                version i32, cversion i32, data_length u32, data bytes
//   size - 4   crc32c u32 of every byte before it
//
// The store writes no file itself: server/wal owns the snapshot file and its
// crash windows; these bytes are its payload. load_snapshot() rejects, with
// CORRUPTED and the reason, any damage the checksum or the structural checks
// (names, order, kinds, owners, limits, exact length) catch.
// The payload format's version; the file around it has its own
// (wal::snapshot_file_version). load_snapshot() also reads the previous one.
inline constexpr std::uint8_t store_snapshot_version = 3;
inline constexpr std::uint8_t store_snapshot_version_v2 = 2;

class Store {
 public:
  // `config` must be the same on every replica: its limits decide outcomes.
  explicit Store(StoreConfig config = {});
  ~Store();
  Store(Store&&) noexcept;
  Store& operator=(Store&&) noexcept;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Applies the entry at `zxid` (its log slot), stamped by the leader with
  // `log_time_ms` (ms since the epoch, in [0, log_time_ms_max]). zxid must be
  // above applied_zxid() (asserted): every replica applies every slot once,
  // in order. Expected failures are in the response; the store is unchanged
  // by a failed write or multi (except that applied_zxid() advances).
  //
  // `sequence` (non-zero for a client's write, close or multi) is the
  // number its session gave the request; numbers grow in the order the
  // session sent them. A session's commands apply in that order: one whose
  // sequence is not above the highest its session applied is refused with
  // NOT_EXECUTED and ApplyResult::out_of_order, changing nothing. (Multi-
  // Paxos may choose a write a deposed leader proposed after a later write
  // of the same session; this keeps the session's writes in its own order,
  // and makes a duplicated write apply once.)
  [[nodiscard]] ApplyResult apply(Zxid zxid, std::int64_t log_time_ms, const Command& command,
                                  std::uint64_t sequence = 0);

  // ---- Reads: pure, at applied_zxid(). ----
  [[nodiscard]] Zxid applied_zxid() const { return applied_zxid_; }
  [[nodiscard]] Ballot leadership() const { return leadership_; }
  // NO_NODE if absent.
  [[nodiscard]] Result<NodeView> get(const Path& path) const;
  [[nodiscard]] Result<Stat> exists(const Path& path) const;
  // Up to `limit` children named after `after` ("" for the first page).
  // limit in [1, children_page_max], else BAD_ARGUMENTS; NO_NODE if absent.
  [[nodiscard]] Result<ChildrenPage> children(const Path& path, std::string_view after,
                                              std::size_t limit) const;
  // The session's ephemeral paths, sorted; SESSION_EXPIRED if unknown.
  [[nodiscard]] Result<std::vector<std::string>> ephemerals(SessionId session) const;
  // OK, or FENCED saying why (missing node, or its czxid differs).
  [[nodiscard]] Status check_fence(const Fence& fence) const;
  // TTL nodes that a RemoveExpiredTtlCommand at `log_time_ms` would remove,
  // sorted by path, at most `limit` (<= ttl_removals_max) of them.
  [[nodiscard]] std::vector<Path> expired_ttl_nodes(std::int64_t log_time_ms,
                                                    std::size_t limit) const;

  [[nodiscard]] bool session_exists(SessionId session) const;
  // The open session's secret; nullopt when it is not open.
  [[nodiscard]] std::optional<SessionSecret> session_secret(SessionId session) const;
  // Every open session, in id order.
  [[nodiscard]] std::vector<SessionInfo> sessions() const;
  [[nodiscard]] std::size_t session_count() const { return sessions_.size(); }
  // Nodes in the tree, root included (so never 0).
  [[nodiscard]] std::size_t node_count() const { return node_count_; }
  [[nodiscard]] const StoreConfig& config() const { return config_; }

  // A hash of the whole replicated state (tree, stats, data, sessions,
  // applied_zxid), equal on replicas that applied the same entries. O(state).
  [[nodiscard]] std::uint64_t digest() const;

  // The whole state in the layout above. O(state) time and bytes.
  [[nodiscard]] std::string serialize_snapshot() const;
  // serialize_snapshot().size(), kept up to date as the store changes. O(1).
  [[nodiscard]] std::uint64_t snapshot_bytes() const {
    return snapshot_fixed_bytes + snapshot_session_bytes * sessions_.size() +
           snapshot_node_bytes * node_count_ + name_and_data_bytes_;
  }
  // Replaces the whole state with the snapshot's. On any error the store is
  // unchanged and the status (CORRUPTED) says what is wrong and where.
  [[nodiscard]] Status load_snapshot(std::string_view bytes);

 private:
  struct Session {
    std::int64_t timeout_ms = 0;
    std::set<std::string> ephemerals;
    std::uint64_t last_sequence = 0;  // the highest sequence applied
    SessionSecret secret{};
  };
  struct Undo;
  struct Entry;

  // store.cpp: commands
  void apply_open_session(Entry& entry, const OpenSessionCommand& command);
  void apply_close_session(Entry& entry, const CloseSessionCommand& command);
  void apply_expire_sessions(Entry& entry, const ExpireSessionsCommand& command);
  void apply_remove_expired_ttl(Entry& entry, const RemoveExpiredTtlCommand& command);
  void apply_write(Entry& entry, const WriteCommand& command);
  void apply_multi(Entry& entry, const MultiCommand& command);
  void remove_session(Entry& entry, SessionId id);
  void remove_empty_containers(Entry& entry);
  void rollback(std::vector<Undo>& journal);

  // store_ops.cpp: one op each. Each validates fully, then mutates (never
  // failing after a mutation), journaling when entry.journal is set; it
  // fills `result` on success.
  Status apply_op(Entry& entry, const Op& op, OpResult& result);
  Status apply_create(Entry& entry, const CreateOp& op, OpResult& result);
  Status apply_delete(Entry& entry, const DeleteOp& op);
  Status apply_set(Entry& entry, const SetOp& op, OpResult& result);
  Status apply_check(const CheckOp& op) const;
  // LIMIT_EXCEEDED when `growth` more bytes would take the snapshot above
  // config_.bytes_max.
  [[nodiscard]] Status check_quota(std::uint64_t growth) const;
  Status validate_create(const CreateOp& op) const;
  // Removes the leaf at `path` and updates its parent, with events.
  void remove_node(Entry& entry, std::string_view path);
  // Creates a leaf under `parent` (at `parent_path`), with events.
  Node& create_node(Entry& entry, Node& parent, std::string_view parent_path, std::string_view name,
                    std::string data, const NodeMeta& meta);
  void touch_parent(Entry& entry, Node& parent, std::string_view parent_path);

  // Tree primitives that keep node_count_, ttl_nodes_ and session ephemeral
  // sets in step with the tree. `path` is the child's full path.
  Node& attach(Node& parent, std::string_view path, std::unique_ptr<Node> child);
  std::unique_ptr<Node> detach(Node& parent, std::string_view path);
  [[nodiscard]] Node* find(std::string_view path) const;
  [[nodiscard]] bool ttl_expired(const Node& node, std::int64_t log_time_ms) const;

  // snapshot.cpp: load into a fresh store.
  Status load_sessions(SnapshotReader& reader, std::uint8_t version);
  Status load_nodes(SnapshotReader& reader);

  StoreConfig config_;
  std::unique_ptr<Node> root_;
  Zxid applied_zxid_{};
  Ballot leadership_{};  // the newest leader's NoopCommand applied so far
  std::size_t node_count_ = 1;
  std::uint64_t name_and_data_bytes_ = 0;  // every node's name and data
  std::map<SessionId, Session> sessions_;
  std::set<std::string> ttl_nodes_;  // paths of kind-ttl nodes
};

}  // namespace synod::store
