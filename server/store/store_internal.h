// Internal to server/store: the per-entry context and the undo journal that
// makes a multi all-or-nothing.
#pragma once

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "server/store/node.h"
#include "server/store/store.h"

namespace synod::store {

// One journal record, written before the mutation it undoes. Rolled back in
// reverse order, each record sees the tree exactly as it was right after its
// mutation.
struct Store::Undo {
  enum class Kind : std::uint8_t {
    remove_created,   // the node at `path` was created: detach it
    restore_removed,  // `node` was removed from `path`: attach it again
    restore_meta,     // the node at `path` had `meta`
    restore_data,     // the node at `path` had `meta` and `data`
  };
  Kind kind = Kind::restore_meta;
  std::string path;
  NodeMeta meta{};
  std::string data;
  std::unique_ptr<Node> node;
};

// What applying one entry accumulates.
struct Store::Entry {
  Zxid zxid{};
  std::int64_t log_time_ms = 0;
  SessionId session{};  // the issuing session of a write or multi
  Response& response;
  std::vector<Event>& events;
  std::vector<Undo>* journal = nullptr;  // set only inside a multi
  // Containers that lost a child in this entry; checked at its end.
  std::set<std::string> containers;
};

// "/a/b" -> "/a"; "/a" -> "/". `path` is a valid non-root path.
[[nodiscard]] inline std::string_view parent_of(std::string_view path) {
  const std::size_t slash = path.rfind('/');
  return slash == 0 ? std::string_view("/") : path.substr(0, slash);
}

[[nodiscard]] inline std::string_view name_of(std::string_view path) {
  return path.substr(path.rfind('/') + 1);
}

// Version counters wrap like ZooKeeper's int32 counters.
[[nodiscard]] inline std::int32_t wrapping_increment(std::int32_t value) {
  return static_cast<std::int32_t>(static_cast<std::uint32_t>(value) + 1u);
}

}  // namespace synod::store
