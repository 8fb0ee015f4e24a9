// Store: digest and snapshots. The byte layout is documented in store.h,
// above store_snapshot_version.
#include <array>
#include <cstring>
#include <utility>

#include "base/crc32c.h"
#include "base/hash.h"
#include "base/little_endian.h"
#include "server/store/node.h"
#include "server/store/store.h"
#include "server/store/store_internal.h"

namespace synod::store {

namespace {

constexpr std::string_view snapshot_magic = "SYND";
constexpr std::size_t snapshot_header_bytes = 5;   // magic + version
constexpr std::size_t snapshot_trailer_bytes = 4;  // crc32c

// Calls visit(node) for every node in pre-order, children in name order.
template <class Visit>
void for_each_preorder(const Node& root, Visit visit) {
  std::vector<const Node*> stack{&root};
  while (!stack.empty()) {
    const Node* node = stack.back();
    stack.pop_back();
    visit(*node);
    const auto children = node->children();
    for (auto it = children.rbegin(); it != children.rend(); ++it) stack.push_back(it->get());
  }
}

void put_bytes(std::string& out, std::string_view bytes) {
  base::put_u32(out, static_cast<std::uint32_t>(bytes.size()));
  out.append(bytes);
}

}  // namespace

std::uint64_t Store::digest() const {
  base::Hash64 hash;
  hash.u64(applied_zxid_.value()).u64(leadership_.round).u64(leadership_.node.value());
  hash.u64(sessions_.size());
  for (const auto& [id, session] : sessions_) {
    hash.u64(id.value()).u64(static_cast<std::uint64_t>(session.timeout_ms));
    hash.u64(session.last_sequence).u64(session.secret.high).u64(session.secret.low);
  }
  hash.u64(node_count_);
  for_each_preorder(*root_, [&hash](const Node& node) {
    const NodeMeta& m = node.meta();
    hash.bytes(node.name()).u64(node.child_count()).u64(static_cast<std::uint8_t>(m.kind));
    hash.u64(m.owner_or_ttl).u64(m.czxid.value()).u64(m.mzxid.value()).u64(m.pzxid.value());
    hash.u64(static_cast<std::uint64_t>(m.ctime_ms)).u64(static_cast<std::uint64_t>(m.mtime_ms));
    hash.u64(static_cast<std::uint32_t>(m.version)).u64(static_cast<std::uint32_t>(m.cversion));
    hash.bytes(node.data());
  });
  return hash.finish();
}

std::string Store::serialize_snapshot() const {
  std::string out;
  out.append(snapshot_magic);
  base::put_u8(out, store_snapshot_version);
  base::put_u64(out, applied_zxid_.value());
  base::put_u64(out, leadership_.round);
  base::put_u32(out, leadership_.node.value());
  base::put_u64(out, sessions_.size());
  for (const auto& [id, session] : sessions_) {
    base::put_u64(out, id.value());
    base::put_u64(out, static_cast<std::uint64_t>(session.timeout_ms));
    base::put_u64(out, session.last_sequence);
    base::put_u64(out, session.secret.high);
    base::put_u64(out, session.secret.low);
  }
  base::put_u64(out, node_count_);
  for_each_preorder(*root_, [&out](const Node& node) {
    const NodeMeta& m = node.meta();
    put_bytes(out, node.name());
    base::put_u32(out, static_cast<std::uint32_t>(node.child_count()));
    base::put_u8(out, static_cast<std::uint8_t>(m.kind));
    base::put_u64(out, m.owner_or_ttl);
    base::put_u64(out, m.czxid.value());
    base::put_u64(out, m.mzxid.value());
    base::put_u64(out, m.pzxid.value());
    base::put_u64(out, static_cast<std::uint64_t>(m.ctime_ms));
    base::put_u64(out, static_cast<std::uint64_t>(m.mtime_ms));
    base::put_u32(out, static_cast<std::uint32_t>(m.version));
    base::put_u32(out, static_cast<std::uint32_t>(m.cversion));
    put_bytes(out, node.data());
  });
  base::put_u32(out, base::crc32c(out));
  SYNOD_ASSERT(out.size() == snapshot_bytes());
  return out;
}

// Bounds-checked little-endian reads over the snapshot body. The first
// failure sticks: later reads return zeros and failed() stays true.
class SnapshotReader {
 public:
  explicit SnapshotReader(std::string_view bytes) : bytes_(bytes) {}

  [[nodiscard]] bool failed() const { return failed_; }
  [[nodiscard]] std::size_t offset() const { return offset_; }
  [[nodiscard]] bool at_end() const { return offset_ == bytes_.size(); }

  std::uint64_t u64() { return little_endian(8); }
  std::uint32_t u32() { return static_cast<std::uint32_t>(little_endian(4)); }
  std::uint8_t u8() { return static_cast<std::uint8_t>(little_endian(1)); }
  std::string_view bytes(std::size_t size) {
    if (!take(size)) return {};
    return bytes_.substr(offset_ - size, size);
  }

 private:
  bool take(std::size_t size) {
    if (failed_ || bytes_.size() - offset_ < size) {
      failed_ = true;
      return false;
    }
    offset_ += size;
    return true;
  }
  std::uint64_t little_endian(std::size_t size) {
    if (!take(size)) return 0;
    switch (size) {
      case 1: return base::get_u8(bytes_, offset_ - size);
      case 4: return base::get_u32(bytes_, offset_ - size);
      case 8: return base::get_u64(bytes_, offset_ - size);
    }
    SYNOD_UNREACHABLE();
  }

  std::string_view bytes_;
  std::size_t offset_ = 0;
  bool failed_ = false;
};

namespace {

Status corrupted(const SnapshotReader& reader, const std::string& why) {
  return error_status(Error::CORRUPTED, "snapshot is damaged at body byte " +
                                            std::to_string(reader.offset()) + ": " + why);
}

// One node record, before it is checked against the tree.
struct NodeRecord {
  std::string_view name;
  std::uint32_t child_count = 0;
  std::uint8_t kind = 0;
  NodeMeta meta{};
  std::string_view data;
};

NodeRecord read_node(SnapshotReader& reader) {
  NodeRecord r;
  r.name = reader.bytes(reader.u32());
  r.child_count = reader.u32();
  r.kind = reader.u8();
  r.meta.owner_or_ttl = reader.u64();
  r.meta.czxid = Zxid{reader.u64()};
  r.meta.mzxid = Zxid{reader.u64()};
  r.meta.pzxid = Zxid{reader.u64()};
  r.meta.ctime_ms = static_cast<std::int64_t>(reader.u64());
  r.meta.mtime_ms = static_cast<std::int64_t>(reader.u64());
  r.meta.version = static_cast<std::int32_t>(reader.u32());
  r.meta.cversion = static_cast<std::int32_t>(reader.u32());
  r.data = reader.bytes(reader.u32());
  if (r.kind <= node_kind_last) r.meta.kind = static_cast<NodeKind>(r.kind);
  return r;
}

// Why the record cannot be a node of a store at `applied`, or "".
std::string record_problem(const NodeRecord& r, const StoreConfig& config, Zxid applied) {
  if (r.kind > node_kind_last) return "unknown node kind " + std::to_string(r.kind);
  if (r.data.size() > config.data_bytes_max) return "data above data_bytes_max";
  if (r.meta.czxid > applied || r.meta.mzxid > applied || r.meta.pzxid > applied) {
    return "a zxid above the applied zxid";
  }
  const NodeKind kind = r.meta.kind;
  if (kind == NodeKind::ephemeral && r.child_count != 0) return "an ephemeral with children";
  if (kind == NodeKind::ttl &&
      (r.meta.owner_or_ttl < 1 || r.meta.owner_or_ttl > static_cast<std::uint64_t>(ttl_ms_max))) {
    return "a TTL outside [1, ttl_ms_max]";
  }
  if ((kind == NodeKind::persistent || kind == NodeKind::container) && r.meta.owner_or_ttl != 0) {
    return "an owner on a node that is not ephemeral";
  }
  return {};
}

}  // namespace

Status Store::load_snapshot(std::string_view bytes) {
  if (bytes.size() < snapshot_header_bytes + snapshot_trailer_bytes) {
    return error_status(Error::CORRUPTED, "snapshot of " + std::to_string(bytes.size()) +
                                              " bytes is shorter than its header and checksum");
  }
  if (bytes.substr(0, snapshot_magic.size()) != snapshot_magic) {
    return error_status(Error::CORRUPTED, "snapshot does not start with the magic \"SYND\"");
  }
  const auto version = static_cast<std::uint8_t>(bytes[snapshot_magic.size()]);
  if (version != store_snapshot_version && version != store_snapshot_version_v2) {
    return error_status(Error::CORRUPTED, "snapshot version " + std::to_string(version) +
                                              " is not the supported version " +
                                              std::to_string(store_snapshot_version));
  }
  const std::size_t body_end = bytes.size() - snapshot_trailer_bytes;
  SnapshotReader trailer(bytes.substr(body_end));
  const std::uint32_t stored_crc = trailer.u32();
  const std::uint32_t actual_crc = base::crc32c(bytes.substr(0, body_end));
  if (stored_crc != actual_crc) {
    return error_status(Error::CORRUPTED, "snapshot checksum mismatch: stored " +
                                              std::to_string(stored_crc) + ", computed " +
                                              std::to_string(actual_crc));
  }
  SnapshotReader reader(bytes.substr(snapshot_header_bytes, body_end - snapshot_header_bytes));
  Store fresh(config_);
  fresh.applied_zxid_ = Zxid{reader.u64()};
  if (version != store_snapshot_version_v2) {
    fresh.leadership_.round = reader.u64();
    fresh.leadership_.node = NodeId{reader.u32()};
  }
  if (Status status = fresh.load_sessions(reader, version); !status.ok()) return status;
  if (Status status = fresh.load_nodes(reader); !status.ok()) return status;
  if (!reader.at_end()) return corrupted(reader, "trailing bytes after the last node");
  *this = std::move(fresh);
  return ok_status();
}

Status Store::load_sessions(SnapshotReader& reader, std::uint8_t version) {
  const std::uint64_t count = reader.u64();
  if (count > config_.sessions_max) return corrupted(reader, "more sessions than sessions_max");
  for (std::uint64_t i = 0; i < count; ++i) {
    const SessionId id{reader.u64()};
    const auto timeout_ms = static_cast<std::int64_t>(reader.u64());
    const std::uint64_t last_sequence = reader.u64();
    SessionSecret secret{};
    if (version != store_snapshot_version_v2) secret = SessionSecret{reader.u64(), reader.u64()};
    if (reader.failed()) return corrupted(reader, "truncated in the session table");
    if (!sessions_.empty() && id <= sessions_.rbegin()->first) {
      return corrupted(reader, "session ids out of order");
    }
    if (id.value() == 0 || id.value() > applied_zxid_.value()) {
      return corrupted(reader, "a session id outside [1, applied zxid]");
    }
    if (timeout_ms < 1 || timeout_ms > session_timeout_ms_limit) {
      return corrupted(reader, "a session timeout outside [1, session_timeout_ms_limit]");
    }
    sessions_.emplace_hint(sessions_.end(), id, Session{timeout_ms, {}, last_sequence, secret});
  }
  return ok_status();
}

Status Store::load_nodes(SnapshotReader& reader) {
  struct Frame {
    Node* node;
    std::string path;
    std::uint32_t remaining;
    std::string last_name;
  };
  const std::uint64_t count = reader.u64();
  if (count < 1 || count > config_.nodes_max) return corrupted(reader, "node count out of range");
  std::vector<Frame> stack;
  for (std::uint64_t i = 0; i < count; ++i) {
    const NodeRecord record = read_node(reader);
    if (reader.failed()) return corrupted(reader, "truncated in node " + std::to_string(i));
    if (std::string why = record_problem(record, config_, applied_zxid_); !why.empty()) {
      return corrupted(reader, why);
    }
    if (i == 0) {
      if (!record.name.empty() || record.meta.kind != NodeKind::persistent) {
        return corrupted(reader, "the first node is not the root");
      }
      root_->meta() = record.meta;
      root_->data() = std::string(record.data);
      name_and_data_bytes_ += record.data.size();
      if (record.child_count > 0) stack.push_back(Frame{root_.get(), "/", record.child_count, {}});
      continue;
    }
    while (!stack.empty() && stack.back().remaining == 0) stack.pop_back();
    if (stack.empty()) return corrupted(reader, "more nodes than the tree has places for");
    Frame& parent = stack.back();
    if (!component_problem(record.name).empty()) return corrupted(reader, "an invalid name");
    if (!parent.last_name.empty() && record.name <= parent.last_name) {
      return corrupted(reader, "children out of order");
    }
    std::string path = parent.path == "/" ? "/" : parent.path + "/";
    path.append(record.name);
    if (path.size() > path_bytes_max) return corrupted(reader, "a path above path_bytes_max");
    if (parent.node->meta().kind == NodeKind::ephemeral) {
      return corrupted(reader, "a child of an ephemeral");
    }
    if (record.meta.kind == NodeKind::ephemeral &&
        !sessions_.contains(SessionId{record.meta.owner_or_ttl})) {
      return corrupted(reader, "an ephemeral owned by a session that is not open");
    }
    --parent.remaining;
    parent.last_name = std::string(record.name);
    Node& node = attach(
        *parent.node, path,
        std::make_unique<Node>(std::string(record.name), std::string(record.data), record.meta));
    if (record.child_count > 0) stack.push_back(Frame{&node, path, record.child_count, {}});
  }
  while (!stack.empty() && stack.back().remaining == 0) stack.pop_back();
  if (!stack.empty()) return corrupted(reader, "fewer nodes than the tree has places for");
  SYNOD_ASSERT(node_count_ == count);
  return ok_status();
}

}  // namespace synod::store
