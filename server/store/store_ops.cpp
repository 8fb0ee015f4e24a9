// Store: the four ops (create, delete, set, check) and the node mutations
// they share with session and TTL removal.
#include <string>
#include <variant>

#include "server/store/node.h"
#include "server/store/store.h"
#include "server/store/store_internal.h"

namespace synod::store {

namespace {

// ZooKeeper's "%010d" for a non-negative counter.
std::string sequence_suffix(std::int32_t counter) {
  SYNOD_ASSERT(counter >= 0);
  std::string digits(sequence_suffix_bytes, '0');
  auto value = static_cast<std::uint32_t>(counter);
  for (std::size_t i = sequence_suffix_bytes; i > 0 && value > 0; --i) {
    digits[i - 1] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  return digits;
}

Status version_mismatch(const std::string& path, std::int32_t expected, std::int32_t actual) {
  return error_status(Error::BAD_VERSION, "node " + path + " is at version " +
                                              std::to_string(actual) + ", not " +
                                              std::to_string(expected));
}

Status no_node(std::string_view path) {
  return error_status(Error::NO_NODE, "no node at " + std::string(path));
}

}  // namespace

Status Store::apply_op(Entry& entry, const Op& op, OpResult& result) {
  if (const auto* create = std::get_if<CreateOp>(&op)) return apply_create(entry, *create, result);
  if (const auto* del = std::get_if<DeleteOp>(&op)) return apply_delete(entry, *del);
  if (const auto* set = std::get_if<SetOp>(&op)) return apply_set(entry, *set, result);
  return apply_check(std::get<CheckOp>(op));
}

Status Store::validate_create(const CreateOp& op) const {
  if (op.path.is_root()) return error_status(Error::BAD_ARGUMENTS, "the root cannot be created");
  if (static_cast<std::uint8_t>(op.kind) > node_kind_last) {
    return error_status(Error::BAD_ARGUMENTS, "unknown node kind");
  }
  if (static_cast<std::uint8_t>(op.parents) > 2) {
    return error_status(Error::BAD_ARGUMENTS, "unknown missing-parents mode");
  }
  if (op.kind == NodeKind::container && op.sequential) {
    return error_status(Error::BAD_ARGUMENTS, "a container cannot be sequential");
  }
  if (op.kind == NodeKind::ttl && (op.ttl_ms < 1 || op.ttl_ms > ttl_ms_max)) {
    return error_status(Error::BAD_ARGUMENTS,
                        "ttl " + std::to_string(op.ttl_ms) + " ms is outside [1, ttl_ms_max]");
  }
  if (op.kind != NodeKind::ttl && op.ttl_ms != 0) {
    return error_status(Error::BAD_ARGUMENTS, "only a TTL node takes a ttl");
  }
  if (op.data.size() > config_.data_bytes_max) {
    return error_status(Error::TOO_LARGE, "data of " + std::to_string(op.data.size()) +
                                              " bytes is above data_bytes_max " +
                                              std::to_string(config_.data_bytes_max));
  }
  return ok_status();
}

Status Store::apply_create(Entry& entry, const CreateOp& op, OpResult& result) {
  if (Status status = validate_create(op); !status.ok()) return status;
  // The deepest existing ancestor, and the components below it that are
  // missing (the parent's own components only; the leaf is created last).
  const Path parent_path = op.path.parent();
  const std::vector<std::string_view> components = parent_path.components();
  Node* ancestor = root_.get();
  std::size_t present = 0;
  while (present < components.size()) {
    Node* child = ancestor->find_child(components[present]);
    if (child == nullptr) break;
    ancestor = child;
    ++present;
  }
  const std::size_t missing = components.size() - present;
  if (missing > 0 && op.parents == MissingParents::fail) return no_node(parent_path.text());
  if (ancestor->meta().kind == NodeKind::ephemeral) {
    return error_status(Error::NO_CHILDREN_FOR_EPHEMERALS,
                        "parent of " + op.path.text() + " is ephemeral");
  }
  std::string name(op.path.name());
  if (op.sequential) {
    const std::int32_t counter = missing > 0 ? 0 : ancestor->meta().cversion;
    if (counter < 0) {
      return error_status(Error::BAD_ARGUMENTS,
                          "the sequence counter of " + parent_path.text() + " has overflowed");
    }
    name += sequence_suffix(counter);
  }
  Result<Path> path = parent_path.child(name);
  if (!path.ok()) return path.status();
  if (missing == 0 && ancestor->find_child(name) != nullptr) {
    return error_status(Error::NODE_EXISTS, "node " + path.value().text() + " exists");
  }
  if (node_count_ + missing + 1 > config_.nodes_max) {
    return error_status(Error::LIMIT_EXCEEDED, "the store holds nodes_max " +
                                                   std::to_string(config_.nodes_max) + " nodes");
  }
  // The new nodes' names sum to at most the path's bytes.
  const std::uint64_t growth =
      snapshot_node_bytes * (missing + 1) + path.value().text().size() + op.data.size();
  if (Status status = check_quota(growth); !status.ok()) return status;
  // Mutations from here on; nothing below can fail.
  const NodeMeta parent_meta{
      entry.zxid,
      entry.zxid,
      entry.zxid,
      entry.log_time_ms,
      entry.log_time_ms,
      0,
      0,
      0,
      op.parents == MissingParents::create_container ? NodeKind::container : NodeKind::persistent};
  std::string ancestor_path = "/";
  const auto descend = [&ancestor_path](std::string_view component) {
    if (ancestor_path.size() > 1) ancestor_path.push_back('/');
    ancestor_path.append(component);
  };
  for (std::size_t i = 0; i < present; ++i) descend(components[i]);
  for (std::size_t i = present; i < components.size(); ++i) {
    ancestor = &create_node(entry, *ancestor, ancestor_path, components[i], {}, parent_meta);
    descend(components[i]);
  }
  NodeMeta meta = parent_meta;
  meta.kind = op.kind;
  if (op.kind == NodeKind::ephemeral) meta.owner_or_ttl = entry.session.value();
  if (op.kind == NodeKind::ttl) meta.owner_or_ttl = static_cast<std::uint64_t>(op.ttl_ms);
  Node& node = create_node(entry, *ancestor, parent_path.text(), name, op.data, meta);
  result.path = path.value().text();
  result.stat = node.stat();
  return ok_status();
}

Status Store::apply_delete(Entry& entry, const DeleteOp& op) {
  if (op.path.is_root()) return error_status(Error::BAD_ARGUMENTS, "the root cannot be deleted");
  const Node* node = find(op.path.text());
  if (node == nullptr) return no_node(op.path.text());
  if (op.expected_version && *op.expected_version != node->meta().version) {
    return version_mismatch(op.path.text(), *op.expected_version, node->meta().version);
  }
  if (node->child_count() != 0) {
    return error_status(Error::NOT_EMPTY, "node " + op.path.text() + " has " +
                                              std::to_string(node->child_count()) + " children");
  }
  remove_node(entry, op.path.text());
  return ok_status();
}

Status Store::apply_set(Entry& entry, const SetOp& op, OpResult& result) {
  if (op.data.size() > config_.data_bytes_max) {
    return error_status(Error::TOO_LARGE, "data of " + std::to_string(op.data.size()) +
                                              " bytes is above data_bytes_max " +
                                              std::to_string(config_.data_bytes_max));
  }
  Node* node = find(op.path.text());
  if (node == nullptr) return no_node(op.path.text());
  if (op.expected_version && *op.expected_version != node->meta().version) {
    return version_mismatch(op.path.text(), *op.expected_version, node->meta().version);
  }
  const std::uint64_t old_bytes = node->data().size();
  if (op.data.size() > old_bytes) {
    if (Status status = check_quota(op.data.size() - old_bytes); !status.ok()) return status;
  }
  if (entry.journal != nullptr) {
    entry.journal->push_back(Undo{Undo::Kind::restore_data, op.path.text(), node->meta(),
                                  std::move(node->data()), nullptr});
  }
  name_and_data_bytes_ = name_and_data_bytes_ - old_bytes + op.data.size();
  node->data() = op.data;
  node->meta().mzxid = entry.zxid;
  node->meta().mtime_ms = entry.log_time_ms;
  node->meta().version = wrapping_increment(node->meta().version);
  entry.events.push_back(Event{EventType::data_changed, op.path.text(), entry.zxid});
  result.stat = node->stat();
  return ok_status();
}

Status Store::check_quota(std::uint64_t growth) const {
  const std::uint64_t bytes = snapshot_bytes();
  if (bytes + growth <= config_.bytes_max) return ok_status();
  return error_status(Error::LIMIT_EXCEEDED,
                      "the store is full: it holds " + std::to_string(bytes) +
                          " bytes and this write needs up to " + std::to_string(growth) +
                          " more, above the quota bytes_max " + std::to_string(config_.bytes_max) +
                          "; delete nodes, or raise --quota-bytes on every server");
}

Status Store::apply_check(const CheckOp& op) const {
  const Node* node = find(op.path.text());
  if (node == nullptr) return no_node(op.path.text());
  if (op.expected_version && *op.expected_version != node->meta().version) {
    return version_mismatch(op.path.text(), *op.expected_version, node->meta().version);
  }
  return ok_status();
}

void Store::touch_parent(Entry& entry, Node& parent, std::string_view parent_path) {
  if (entry.journal != nullptr) {
    entry.journal->push_back(
        Undo{Undo::Kind::restore_meta, std::string(parent_path), parent.meta(), {}, nullptr});
  }
  parent.meta().cversion = wrapping_increment(parent.meta().cversion);
  parent.meta().pzxid = entry.zxid;
  entry.events.push_back(Event{EventType::children_changed, std::string(parent_path), entry.zxid});
}

Node& Store::create_node(Entry& entry, Node& parent, std::string_view parent_path,
                         std::string_view name, std::string data, const NodeMeta& meta) {
  std::string path(parent_path);
  if (path != "/") path.push_back('/');
  path.append(name);
  if (entry.journal != nullptr) {
    entry.journal->push_back(Undo{Undo::Kind::remove_created, path, {}, {}, nullptr});
  }
  Node& node =
      attach(parent, path, std::make_unique<Node>(std::string(name), std::move(data), meta));
  entry.events.push_back(Event{EventType::created, path, entry.zxid});
  touch_parent(entry, parent, parent_path);
  return node;
}

void Store::remove_node(Entry& entry, std::string_view path) {
  const std::string_view parent_path = parent_of(path);
  Node* parent = find(parent_path);
  SYNOD_ASSERT(parent != nullptr);
  std::unique_ptr<Node> node = detach(*parent, path);
  entry.events.push_back(Event{EventType::deleted, std::string(path), entry.zxid});
  // Journal order: the removal first, then the parent's meta, so rollback
  // restores the parent's meta and then re-attaches the node.
  if (entry.journal != nullptr) {
    entry.journal->push_back(
        Undo{Undo::Kind::restore_removed, std::string(path), {}, {}, std::move(node)});
  }
  touch_parent(entry, *parent, parent_path);
  if (parent->meta().kind == NodeKind::container) entry.containers.emplace(parent_path);
}

}  // namespace synod::store
