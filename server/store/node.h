// Internal to server/store: the in-memory node tree.
//
// Memory matters (target: <= 500 bytes per small node, tree included), so a
// node stores only its own name (not its full path), the stat fields that
// cannot be derived (num_children and data_length are sizes), and its
// children in a sorted vector of owning pointers, allocated only once the
// node has a child. Lookup walks the path, binary-searching each level.
// Skipped optimisation: inserting into or erasing from a directory of n
// children moves n pointers (~1 ms at a million children); a B-tree per
// directory would fix that at the cost of memory for every small directory.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/assert.h"
#include "server/store/types.h"

namespace synod::store {

// The node fields a multi's undo journal saves and restores.
struct NodeMeta {
  Zxid czxid{};
  Zxid mzxid{};
  Zxid pzxid{};
  std::int64_t ctime_ms = 0;
  std::int64_t mtime_ms = 0;
  // ephemeral: the owning session's id; ttl: the TTL in ms; otherwise 0.
  std::uint64_t owner_or_ttl = 0;
  std::int32_t version = 0;
  std::int32_t cversion = 0;
  NodeKind kind = NodeKind::persistent;
  friend bool operator==(const NodeMeta&, const NodeMeta&) = default;
};

class Node {
 public:
  using Children = std::vector<std::unique_ptr<Node>>;

  Node(std::string name, std::string data, const NodeMeta& meta)
      : name_(std::move(name)), data_(std::move(data)), meta_(meta) {}

  [[nodiscard]] const std::string& name() const { return name_; }
  [[nodiscard]] const std::string& data() const { return data_; }
  [[nodiscard]] std::string& data() { return data_; }
  [[nodiscard]] const NodeMeta& meta() const { return meta_; }
  [[nodiscard]] NodeMeta& meta() { return meta_; }

  [[nodiscard]] std::size_t child_count() const { return children_ ? children_->size() : 0; }
  // Children in bytewise name order. Empty span when there are none.
  [[nodiscard]] std::span<const std::unique_ptr<Node>> children() const {
    if (!children_) return {};
    return {children_->data(), children_->size()};
  }

  [[nodiscard]] Node* find_child(std::string_view name) const {
    if (!children_) return nullptr;
    const auto it = lower_bound(name);
    return it != children_->end() && (*it)->name_ == name ? it->get() : nullptr;
  }

  // Index of the first child whose name is > `name`.
  [[nodiscard]] std::size_t upper_index(std::string_view name) const {
    if (!children_) return 0;
    const auto it = std::upper_bound(
        children_->begin(), children_->end(), name,
        [](std::string_view key, const std::unique_ptr<Node>& n) { return key < n->name_; });
    return static_cast<std::size_t>(it - children_->begin());
  }

  // Adds `child`; asserts no child has its name.
  Node& insert_child(std::unique_ptr<Node> child) {
    if (!children_) children_ = std::make_unique<Children>();
    const auto it = lower_bound(child->name_);
    SYNOD_ASSERT(it == children_->end() || (*it)->name_ != child->name_);
    return **children_->insert(it, std::move(child));
  }

  // Removes and returns the child called `name`; asserts it exists.
  std::unique_ptr<Node> remove_child(std::string_view name) {
    SYNOD_ASSERT(children_ != nullptr);
    const auto it = lower_bound(name);
    SYNOD_ASSERT(it != children_->end() && (*it)->name_ == name);
    std::unique_ptr<Node> child = std::move(*it);
    children_->erase(it);
    if (children_->empty()) children_.reset();
    return child;
  }

  // The stat as clients see it.
  [[nodiscard]] Stat stat() const {
    Stat s;
    s.czxid = meta_.czxid;
    s.mzxid = meta_.mzxid;
    s.pzxid = meta_.pzxid;
    s.ctime_ms = meta_.ctime_ms;
    s.mtime_ms = meta_.mtime_ms;
    s.version = meta_.version;
    s.cversion = meta_.cversion;
    s.ephemeral_owner = SessionId{meta_.kind == NodeKind::ephemeral ? meta_.owner_or_ttl : 0};
    s.num_children = static_cast<std::int32_t>(child_count());
    s.data_length = static_cast<std::int32_t>(data_.size());
    return s;
  }

 private:
  Children::iterator lower_bound(std::string_view name) const {
    return std::lower_bound(
        children_->begin(), children_->end(), name,
        [](const std::unique_ptr<Node>& n, std::string_view key) { return n->name_ < key; });
  }

  std::string name_;
  std::string data_;
  NodeMeta meta_;
  std::unique_ptr<Children> children_;
};

}  // namespace synod::store
