// Store: command dispatch, sessions, TTL removal, multi, containers, and the
// tree primitives. The ops themselves are in store_ops.cpp.
#include "server/store/store.h"

#include <algorithm>
#include <iterator>
#include <type_traits>
#include <utility>
#include <variant>

#include "server/store/node.h"
#include "server/store/store_internal.h"

namespace synod::store {

Store::Store(StoreConfig config)
    : config_(config), root_(std::make_unique<Node>(std::string(), std::string(), NodeMeta{})) {
  SYNOD_ASSERT(config_.data_bytes_max <= data_bytes_max_limit);
  SYNOD_ASSERT(config_.nodes_max >= 1);
}

Store::~Store() = default;
Store::Store(Store&&) noexcept = default;
Store& Store::operator=(Store&&) noexcept = default;

ApplyResult Store::apply(Zxid zxid, std::int64_t log_time_ms, const Command& command,
                         std::uint64_t sequence) {
  SYNOD_ASSERT_MSG(zxid > applied_zxid_, "entries are applied once each, in slot order");
  SYNOD_ASSERT(log_time_ms >= 0 && log_time_ms <= log_time_ms_max);
  ApplyResult result;
  if (sequence != 0 && !config_.canary_ignore_session_order) {
    const SessionId session = std::visit(
        [](const auto& c) {
          using T = std::decay_t<decltype(c)>;
          if constexpr (std::is_same_v<T, WriteCommand> || std::is_same_v<T, MultiCommand> ||
                        std::is_same_v<T, CloseSessionCommand>) {
            return c.session;
          } else {
            return SessionId{};
          }
        },
        command);
    const auto it = sessions_.find(session);
    if (it != sessions_.end()) {
      if (sequence <= it->second.last_sequence) {
        result.response.status = error_status(
            Error::NOT_EXECUTED, "session " + std::to_string(session.value()) +
                                     " already applied its request " +
                                     std::to_string(it->second.last_sequence) +
                                     ", sent after this one; this one changed nothing");
        result.out_of_order = true;
        applied_zxid_ = zxid;
        return result;
      }
      it->second.last_sequence = sequence;
    }
  }
  Entry entry{zxid, log_time_ms, SessionId{}, result.response, result.events, nullptr, {}};
  std::visit(
      [&](const auto& c) {
        using T = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<T, NoopCommand>) {
          // Nothing changes but the newest leadership; applied_zxid advances below.
          leadership_ = std::max(leadership_, c.leader);
        } else if constexpr (std::is_same_v<T, OpenSessionCommand>) {
          apply_open_session(entry, c);
        } else if constexpr (std::is_same_v<T, CloseSessionCommand>) {
          apply_close_session(entry, c);
        } else if constexpr (std::is_same_v<T, ExpireSessionsCommand>) {
          apply_expire_sessions(entry, c);
        } else if constexpr (std::is_same_v<T, RemoveExpiredTtlCommand>) {
          apply_remove_expired_ttl(entry, c);
        } else if constexpr (std::is_same_v<T, WriteCommand>) {
          apply_write(entry, c);
        } else if constexpr (std::is_same_v<T, MoveSessionCommand>) {
          // Nothing changes here; the replicas unbind old connections.
        } else {
          static_assert(std::is_same_v<T, MultiCommand>);
          apply_multi(entry, c);
        }
      },
      command);
  remove_empty_containers(entry);
  applied_zxid_ = zxid;
  return result;
}

void Store::apply_open_session(Entry& entry, const OpenSessionCommand& command) {
  if (command.timeout_ms < 1 || command.timeout_ms > session_timeout_ms_limit) {
    entry.response.status =
        error_status(Error::BAD_ARGUMENTS, "session timeout " + std::to_string(command.timeout_ms) +
                                               " ms is outside [1, " +
                                               std::to_string(session_timeout_ms_limit) + "]");
    return;
  }
  if (sessions_.size() >= config_.sessions_max) {
    entry.response.status =
        error_status(Error::LIMIT_EXCEEDED,
                     "sessions_max " + std::to_string(config_.sessions_max) + " sessions are open");
    return;
  }
  const SessionId id{entry.zxid.value()};
  const bool inserted =
      sessions_.emplace(id, Session{command.timeout_ms, {}, 0, command.secret}).second;
  SYNOD_ASSERT_MSG(inserted, "session ids are zxids, which never repeat");
  entry.response.session = id;
}

void Store::apply_close_session(Entry& entry, const CloseSessionCommand& command) {
  if (!session_exists(command.session)) {
    entry.response.status =
        error_status(Error::SESSION_EXPIRED,
                     "session " + std::to_string(command.session.value()) + " is not open");
    return;
  }
  remove_session(entry, command.session);
}

void Store::apply_expire_sessions(Entry& entry, const ExpireSessionsCommand& command) {
  if (command.sessions.size() > expire_sessions_max) {
    entry.response.status = error_status(
        Error::BAD_ARGUMENTS, "an expiry lists " + std::to_string(command.sessions.size()) +
                                  " sessions, above expire_sessions_max");
    return;
  }
  if (command.proposer < leadership_) return;  // an older leadership's expiry: skipped
  std::vector<SessionId> ids = command.sessions;
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  for (const SessionId id : ids) {
    if (!session_exists(id)) continue;
    if (config_.canary_keep_ephemerals_on_expiry) {
      sessions_.erase(id);
      continue;
    }
    remove_session(entry, id);
  }
}

void Store::remove_session(Entry& entry, SessionId id) {
  auto it = sessions_.find(id);
  SYNOD_ASSERT(it != sessions_.end());
  // Copied: remove_node() erases from the set. Ephemerals have no children,
  // so any order works; path order makes the events deterministic.
  const std::set<std::string> paths = it->second.ephemerals;
  for (const std::string& path : paths) remove_node(entry, path);
  SYNOD_ASSERT(sessions_.find(id)->second.ephemerals.empty());
  sessions_.erase(id);
}

void Store::apply_remove_expired_ttl(Entry& entry, const RemoveExpiredTtlCommand& command) {
  if (command.paths.size() > ttl_removals_max) {
    entry.response.status = error_status(
        Error::BAD_ARGUMENTS, "a TTL removal lists " + std::to_string(command.paths.size()) +
                                  " paths, above ttl_removals_max");
    return;
  }
  std::vector<Path> paths = command.paths;
  std::sort(paths.begin(), paths.end());
  paths.erase(std::unique(paths.begin(), paths.end()), paths.end());
  for (const Path& path : paths) {
    const Node* node = find(path.text());
    // Re-checked here, at apply time: a set or a new child since the leader
    // asked expired_ttl_nodes() keeps the node.
    if (node != nullptr && ttl_expired(*node, entry.log_time_ms)) remove_node(entry, path.text());
  }
}

bool Store::ttl_expired(const Node& node, std::int64_t log_time_ms) const {
  const NodeMeta& meta = node.meta();
  if (meta.kind != NodeKind::ttl || node.child_count() != 0) return false;
  return log_time_ms - meta.mtime_ms >= static_cast<std::int64_t>(meta.owner_or_ttl);
}

namespace {

Status check_session(const Store& store, SessionId session) {
  if (store.session_exists(session)) return ok_status();
  return error_status(Error::SESSION_EXPIRED,
                      "session " + std::to_string(session.value()) + " is not open");
}

}  // namespace

void Store::apply_write(Entry& entry, const WriteCommand& command) {
  entry.session = command.session;
  OpResult result;
  Status status = check_session(*this, command.session);
  if (status.ok() && command.fence) status = check_fence(*command.fence);
  if (status.ok()) status = apply_op(entry, command.op, result);
  result.error = status.error;
  if (!status.ok()) {
    result.path.clear();
    result.stat.reset();
  }
  entry.response.ops.push_back(std::move(result));
  entry.response.status = std::move(status);
}

void Store::apply_multi(Entry& entry, const MultiCommand& command) {
  entry.session = command.session;
  const std::size_t count = command.ops.size();
  Status status = check_session(*this, command.session);
  if (status.ok() && count > multi_ops_max) {
    status = error_status(Error::BAD_ARGUMENTS, "a multi of " + std::to_string(count) +
                                                    " ops is above multi_ops_max " +
                                                    std::to_string(multi_ops_max));
  }
  if (status.ok() && command.fence) status = check_fence(*command.fence);
  if (!status.ok()) {
    entry.response.ops.assign(count, OpResult{Error::NOT_EXECUTED, {}, {}});
    entry.response.status = std::move(status);
    return;
  }
  std::vector<Undo> journal;
  entry.journal = &journal;
  for (std::size_t i = 0; i < count; ++i) {
    const MultiOp& op = command.ops[i];
    OpResult result;
    Status op_status = op.fence ? check_fence(*op.fence) : ok_status();
    if (op_status.ok()) op_status = apply_op(entry, op.op, result);
    if (!op_status.ok()) {
      rollback(journal);
      entry.events.clear();
      entry.containers.clear();
      entry.response.ops.assign(count, OpResult{Error::NOT_EXECUTED, {}, {}});
      for (std::size_t j = 0; j < i; ++j) entry.response.ops[j].error = Error::ROLLED_BACK;
      entry.response.ops[i].error = op_status.error;
      entry.response.status =
          error_status(op_status.error, "multi op " + std::to_string(i) + ": " + op_status.message);
      break;
    }
    entry.response.ops.push_back(std::move(result));
  }
  entry.journal = nullptr;
}

void Store::rollback(std::vector<Undo>& journal) {
  for (auto it = journal.rbegin(); it != journal.rend(); ++it) {
    Undo& undo = *it;
    switch (undo.kind) {
      case Undo::Kind::remove_created: {
        Node* parent = find(parent_of(undo.path));
        SYNOD_ASSERT(parent != nullptr);
        static_cast<void>(detach(*parent, undo.path));
        break;
      }
      case Undo::Kind::restore_removed: {
        Node* parent = find(parent_of(undo.path));
        SYNOD_ASSERT(parent != nullptr);
        attach(*parent, undo.path, std::move(undo.node));
        break;
      }
      case Undo::Kind::restore_meta:
      case Undo::Kind::restore_data: {
        Node* node = find(undo.path);
        SYNOD_ASSERT(node != nullptr);
        node->meta() = undo.meta;
        if (undo.kind == Undo::Kind::restore_data) {
          name_and_data_bytes_ -= node->data().size();
          name_and_data_bytes_ += undo.data.size();
          node->data() = std::move(undo.data);
        }
        break;
      }
    }
  }
  journal.clear();
}

void Store::remove_empty_containers(Entry& entry) {
  // Greatest path first: a container's parent sorts before it, so a parent
  // emptied by this removal is checked after, in the same entry (cascade).
  while (!entry.containers.empty()) {
    auto last = entry.containers.extract(std::prev(entry.containers.end()));
    const std::string path = std::move(last.value());
    const Node* node = find(path);
    if (node != nullptr && node->meta().kind == NodeKind::container && node->child_count() == 0) {
      remove_node(entry, path);
    }
  }
}

Node& Store::attach(Node& parent, std::string_view path, std::unique_ptr<Node> child) {
  SYNOD_ASSERT(child->child_count() == 0);
  SYNOD_ASSERT(name_of(path) == child->name());
  const NodeMeta& meta = child->meta();
  if (meta.kind == NodeKind::ephemeral) {
    auto it = sessions_.find(SessionId{meta.owner_or_ttl});
    SYNOD_ASSERT_MSG(it != sessions_.end(), "an ephemeral's owner is an open session");
    it->second.ephemerals.emplace(path);
  } else if (meta.kind == NodeKind::ttl) {
    ttl_nodes_.emplace(path);
  }
  ++node_count_;
  name_and_data_bytes_ += child->name().size() + child->data().size();
  return parent.insert_child(std::move(child));
}

std::unique_ptr<Node> Store::detach(Node& parent, std::string_view path) {
  std::unique_ptr<Node> child = parent.remove_child(name_of(path));
  SYNOD_ASSERT_MSG(child->child_count() == 0, "only leaves are removed");
  const NodeMeta& meta = child->meta();
  if (meta.kind == NodeKind::ephemeral) {
    auto it = sessions_.find(SessionId{meta.owner_or_ttl});
    SYNOD_ASSERT(it != sessions_.end());
    const auto erased = it->second.ephemerals.erase(std::string(path));
    SYNOD_ASSERT(erased == 1);
  } else if (meta.kind == NodeKind::ttl) {
    const auto erased = ttl_nodes_.erase(std::string(path));
    SYNOD_ASSERT(erased == 1);
  }
  SYNOD_ASSERT(node_count_ > 1);
  --node_count_;
  SYNOD_ASSERT(name_and_data_bytes_ >= child->name().size() + child->data().size());
  name_and_data_bytes_ -= child->name().size() + child->data().size();
  return child;
}

Node* Store::find(std::string_view path) const {
  Node* node = root_.get();
  if (path == "/") return node;
  std::size_t start = 1;
  while (node != nullptr) {
    const std::size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) return node->find_child(path.substr(start));
    node = node->find_child(path.substr(start, slash - start));
    start = slash + 1;
  }
  return nullptr;
}

}  // namespace synod::store
