// Store: the pure reads, all served at applied_zxid().
#include <algorithm>

#include "server/store/node.h"
#include "server/store/store.h"
#include "server/store/store_internal.h"

namespace synod::store {

Result<NodeView> Store::get(const Path& path) const {
  const Node* node = find(path.text());
  if (node == nullptr) return error_status(Error::NO_NODE, "no node at " + path.text());
  NodeView view;
  view.stat = node->stat();
  view.data = node->data();
  view.kind = node->meta().kind;
  if (view.kind == NodeKind::ttl)
    view.ttl_ms = static_cast<std::int64_t>(node->meta().owner_or_ttl);
  return view;
}

Result<Stat> Store::exists(const Path& path) const {
  const Node* node = find(path.text());
  if (node == nullptr) return error_status(Error::NO_NODE, "no node at " + path.text());
  return node->stat();
}

Result<ChildrenPage> Store::children(const Path& path, std::string_view after,
                                     std::size_t limit) const {
  if (limit < 1 || limit > children_page_max) {
    return error_status(Error::BAD_ARGUMENTS, "page limit " + std::to_string(limit) +
                                                  " is outside [1, children_page_max " +
                                                  std::to_string(children_page_max) + "]");
  }
  const Node* node = find(path.text());
  if (node == nullptr) return error_status(Error::NO_NODE, "no node at " + path.text());
  const auto children = node->children();
  std::size_t index = after.empty() ? 0 : node->upper_index(after);
  ChildrenPage page;
  page.entries.reserve(std::min(limit, children.size() - index));
  for (; index < children.size() && page.entries.size() < limit; ++index) {
    page.entries.push_back(ChildEntry{children[index]->name(), children[index]->stat()});
  }
  page.more = index < children.size();
  return page;
}

Result<std::vector<std::string>> Store::ephemerals(SessionId session) const {
  const auto it = sessions_.find(session);
  if (it == sessions_.end()) {
    return error_status(Error::SESSION_EXPIRED,
                        "session " + std::to_string(session.value()) + " is not open");
  }
  return std::vector<std::string>(it->second.ephemerals.begin(), it->second.ephemerals.end());
}

Status Store::check_fence(const Fence& fence) const {
  if (config_.canary_ignore_fence) return ok_status();
  const Node* node = find(fence.path.text());
  if (node == nullptr) {
    return error_status(Error::FENCED, "fence node " + fence.path.text() + " does not exist");
  }
  if (node->meta().czxid != fence.token) {
    return error_status(Error::FENCED, "fence node " + fence.path.text() + " has czxid " +
                                           std::to_string(node->meta().czxid.value()) +
                                           ", not the token " +
                                           std::to_string(fence.token.value()));
  }
  return ok_status();
}

std::vector<Path> Store::expired_ttl_nodes(std::int64_t log_time_ms, std::size_t limit) const {
  SYNOD_ASSERT(limit <= ttl_removals_max);
  std::vector<Path> out;
  for (const std::string& path : ttl_nodes_) {
    if (out.size() >= limit) break;
    const Node* node = find(path);
    SYNOD_ASSERT(node != nullptr);
    if (!ttl_expired(*node, log_time_ms)) continue;
    Result<Path> parsed = Path::parse(path);
    SYNOD_ASSERT(parsed.ok());
    out.push_back(std::move(parsed).value());
  }
  return out;
}

bool Store::session_exists(SessionId session) const { return sessions_.contains(session); }

std::optional<SessionSecret> Store::session_secret(SessionId session) const {
  const auto it = sessions_.find(session);
  if (it == sessions_.end()) return std::nullopt;
  return it->second.secret;
}

std::vector<SessionInfo> Store::sessions() const {
  std::vector<SessionInfo> out;
  out.reserve(sessions_.size());
  for (const auto& [id, session] : sessions_)
    out.push_back(SessionInfo{id, session.timeout_ms, session.secret});
  return out;
}

}  // namespace synod::store
