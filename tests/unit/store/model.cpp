#include "model.h"

#include <algorithm>
#include <cstdio>
#include <set>

namespace synod::store::testing {

namespace {

std::string parent_path(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace

Model::Model(StoreConfig config) : config_(config) { nodes_["/"] = ModelNode{}; }

std::vector<std::string> Model::children(const std::string& path) const {
  std::vector<std::string> out;
  for (const auto& [p, node] : nodes_) {
    if (p != "/" && parent_path(p) == path) out.push_back(p.substr(p.rfind('/') + 1));
  }
  return out;
}

Stat Model::stat(const std::string& path) const {
  const ModelNode& n = nodes_.at(path);
  Stat s;
  s.czxid = Zxid{n.czxid};
  s.mzxid = Zxid{n.mzxid};
  s.pzxid = Zxid{n.pzxid};
  s.ctime_ms = n.ctime_ms;
  s.mtime_ms = n.mtime_ms;
  s.version = n.version;
  s.cversion = n.cversion;
  s.ephemeral_owner = SessionId{n.kind == NodeKind::ephemeral ? n.owner : 0};
  s.num_children = static_cast<std::int32_t>(children(path).size());
  s.data_length = static_cast<std::int32_t>(n.data.size());
  return s;
}

std::vector<std::string> Model::ephemerals(std::uint64_t session) const {
  std::vector<std::string> out;
  for (const auto& [p, node] : nodes_) {
    if (node.kind == NodeKind::ephemeral && node.owner == session) out.push_back(p);
  }
  return out;
}

bool Model::ttl_due(const std::string& path, std::int64_t time) const {
  const auto it = nodes_.find(path);
  if (it == nodes_.end() || it->second.kind != NodeKind::ttl) return false;
  return children(path).empty() && time - it->second.mtime_ms >= it->second.ttl_ms;
}

std::vector<std::string> Model::expired_ttl(std::int64_t log_time_ms) const {
  std::vector<std::string> out;
  for (const auto& [p, node] : nodes_) {
    if (ttl_due(p, log_time_ms)) out.push_back(p);
  }
  return out;
}

void Model::add(Ctx& ctx, const std::string& path, ModelNode node) {
  nodes_[path] = std::move(node);
  ModelNode& parent = nodes_.at(parent_path(path));
  parent.cversion++;
  parent.pzxid = ctx.zxid;
  ctx.events->push_back(Event{EventType::created, path, Zxid{ctx.zxid}});
  ctx.events->push_back(Event{EventType::children_changed, parent_path(path), Zxid{ctx.zxid}});
}

void Model::remove(Ctx& ctx, const std::string& path) {
  nodes_.erase(path);
  ModelNode& parent = nodes_.at(parent_path(path));
  parent.cversion++;
  parent.pzxid = ctx.zxid;
  ctx.events->push_back(Event{EventType::deleted, path, Zxid{ctx.zxid}});
  ctx.events->push_back(Event{EventType::children_changed, parent_path(path), Zxid{ctx.zxid}});
  if (parent.kind == NodeKind::container) ctx.containers.push_back(parent_path(path));
}

Error Model::fence_error(const std::optional<Fence>& fence) const {
  if (!fence) return Error::OK;
  const auto it = nodes_.find(fence->path.text());
  if (it == nodes_.end() || it->second.czxid != fence->token.value()) return Error::FENCED;
  return Error::OK;
}

Error Model::create(Ctx& ctx, const CreateOp& op, OpResult& result) {
  const std::string& path = op.path.text();
  if (path == "/") return Error::BAD_ARGUMENTS;
  if (op.kind == NodeKind::container && op.sequential) return Error::BAD_ARGUMENTS;
  if (op.kind == NodeKind::ttl && (op.ttl_ms < 1 || op.ttl_ms > ttl_ms_max)) {
    return Error::BAD_ARGUMENTS;
  }
  if (op.kind != NodeKind::ttl && op.ttl_ms != 0) return Error::BAD_ARGUMENTS;
  if (op.data.size() > config_.data_bytes_max) return Error::TOO_LARGE;
  // Ancestors of the new node, top down, and which of them are missing.
  std::vector<std::string> missing;
  std::string existing = parent_path(path);
  while (!nodes_.contains(existing)) {
    missing.insert(missing.begin(), existing);
    existing = parent_path(existing);
  }
  if (!missing.empty() && op.parents == MissingParents::fail) return Error::NO_NODE;
  if (nodes_.at(existing).kind == NodeKind::ephemeral) return Error::NO_CHILDREN_FOR_EPHEMERALS;
  std::string full = path;
  if (op.sequential) {
    const std::int32_t counter = missing.empty() ? nodes_.at(existing).cversion : 0;
    char suffix[16];
    std::snprintf(suffix, sizeof suffix, "%010d", counter);
    full += suffix;
  }
  if (full.size() > path_bytes_max) return Error::BAD_ARGUMENTS;
  if (nodes_.contains(full)) return Error::NODE_EXISTS;
  if (nodes_.size() + missing.size() + 1 > config_.nodes_max) return Error::LIMIT_EXCEEDED;
  ModelNode fresh;
  fresh.czxid = fresh.mzxid = fresh.pzxid = ctx.zxid;
  fresh.ctime_ms = fresh.mtime_ms = ctx.time;
  for (const std::string& p : missing) {
    ModelNode parent = fresh;
    parent.kind =
        op.parents == MissingParents::create_container ? NodeKind::container : NodeKind::persistent;
    add(ctx, p, parent);
  }
  fresh.kind = op.kind;
  fresh.data = op.data;
  if (op.kind == NodeKind::ephemeral) fresh.owner = ctx.session;
  if (op.kind == NodeKind::ttl) fresh.ttl_ms = op.ttl_ms;
  add(ctx, full, fresh);
  result.path = full;
  result.stat = stat(full);
  return Error::OK;
}

Error Model::op(Ctx& ctx, const Op& operation, OpResult& result) {
  if (const auto* c = std::get_if<CreateOp>(&operation)) return create(ctx, *c, result);
  if (const auto* s = std::get_if<SetOp>(&operation)) {
    if (s->data.size() > config_.data_bytes_max) return Error::TOO_LARGE;
    auto it = nodes_.find(s->path.text());
    if (it == nodes_.end()) return Error::NO_NODE;
    if (s->expected_version && *s->expected_version != it->second.version)
      return Error::BAD_VERSION;
    it->second.data = s->data;
    it->second.mzxid = ctx.zxid;
    it->second.mtime_ms = ctx.time;
    it->second.version++;
    ctx.events->push_back(Event{EventType::data_changed, s->path.text(), Zxid{ctx.zxid}});
    result.stat = stat(s->path.text());
    return Error::OK;
  }
  const auto* d = std::get_if<DeleteOp>(&operation);
  const auto* k = std::get_if<CheckOp>(&operation);
  const std::string& path = d != nullptr ? d->path.text() : k->path.text();
  const auto& expected = d != nullptr ? d->expected_version : k->expected_version;
  if (d != nullptr && path == "/") return Error::BAD_ARGUMENTS;
  auto it = nodes_.find(path);
  if (it == nodes_.end()) return Error::NO_NODE;
  if (expected && *expected != it->second.version) return Error::BAD_VERSION;
  if (k != nullptr) return Error::OK;
  if (!children(path).empty()) return Error::NOT_EMPTY;
  remove(ctx, path);
  return Error::OK;
}

void Model::drop_session(Ctx& ctx, std::uint64_t id) {
  for (const std::string& p : ephemerals(id)) remove(ctx, p);
  sessions_.erase(id);
}

void Model::sweep_containers(Ctx& ctx) {
  std::set<std::string> pending(ctx.containers.begin(), ctx.containers.end());
  while (!pending.empty()) {
    const std::string p = *pending.rbegin();
    pending.erase(p);
    const auto it = nodes_.find(p);
    if (it == nodes_.end() || it->second.kind != NodeKind::container || !children(p).empty()) {
      continue;
    }
    ctx.containers.clear();
    remove(ctx, p);
    pending.insert(ctx.containers.begin(), ctx.containers.end());
  }
}

ApplyResult Model::apply(Zxid zxid, std::int64_t log_time_ms, const Command& command) {
  ApplyResult out;
  Ctx ctx{zxid.value(), log_time_ms, 0, &out.events, {}};
  Response& r = out.response;
  if (const auto* open = std::get_if<OpenSessionCommand>(&command)) {
    if (open->timeout_ms < 1 || open->timeout_ms > session_timeout_ms_limit) {
      r.status.error = Error::BAD_ARGUMENTS;
    } else if (sessions_.size() >= config_.sessions_max) {
      r.status.error = Error::LIMIT_EXCEEDED;
    } else {
      sessions_[zxid.value()] = open->timeout_ms;
      r.session = SessionId{zxid.value()};
    }
  } else if (const auto* close = std::get_if<CloseSessionCommand>(&command)) {
    if (!sessions_.contains(close->session.value())) {
      r.status.error = Error::SESSION_EXPIRED;
    } else {
      drop_session(ctx, close->session.value());
    }
  } else if (const auto* expire = std::get_if<ExpireSessionsCommand>(&command)) {
    std::set<std::uint64_t> ids;
    for (SessionId id : expire->sessions) ids.insert(id.value());
    for (std::uint64_t id : ids) {
      if (sessions_.contains(id)) drop_session(ctx, id);
    }
  } else if (const auto* ttl = std::get_if<RemoveExpiredTtlCommand>(&command)) {
    std::set<std::string> paths;
    for (const Path& p : ttl->paths) paths.insert(p.text());
    for (const std::string& p : paths) {
      if (ttl_due(p, log_time_ms)) remove(ctx, p);
    }
  } else if (const auto* write = std::get_if<WriteCommand>(&command)) {
    ctx.session = write->session.value();
    OpResult result;
    Error e = sessions_.contains(ctx.session) ? Error::OK : Error::SESSION_EXPIRED;
    if (e == Error::OK) e = fence_error(write->fence);
    if (e == Error::OK) e = op(ctx, write->op, result);
    if (e != Error::OK) result = OpResult{};
    result.error = e;
    r.status.error = e;
    r.ops.push_back(result);
  } else if (const auto* multi = std::get_if<MultiCommand>(&command)) {
    ctx.session = multi->session.value();
    const std::size_t n = multi->ops.size();
    Error e = sessions_.contains(ctx.session) ? Error::OK : Error::SESSION_EXPIRED;
    if (e == Error::OK && n > multi_ops_max) e = Error::BAD_ARGUMENTS;
    if (e == Error::OK) e = fence_error(multi->fence);
    if (e != Error::OK) {
      r.status.error = e;
      r.ops.assign(n, OpResult{Error::NOT_EXECUTED, {}, {}});
    } else {
      const auto saved = nodes_;
      for (std::size_t i = 0; i < n; ++i) {
        OpResult result;
        Error oe = fence_error(multi->ops[i].fence);
        if (oe == Error::OK) oe = op(ctx, multi->ops[i].op, result);
        if (oe != Error::OK) {
          nodes_ = saved;
          out.events.clear();
          ctx.containers.clear();
          r.ops.assign(n, OpResult{Error::NOT_EXECUTED, {}, {}});
          for (std::size_t j = 0; j < i; ++j) r.ops[j].error = Error::ROLLED_BACK;
          r.ops[i].error = oe;
          r.status.error = oe;
          break;
        }
        r.ops.push_back(result);
      }
    }
  }
  sweep_containers(ctx);
  return out;
}

}  // namespace synod::store::testing
