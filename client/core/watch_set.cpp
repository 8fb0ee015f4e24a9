// WatchSet (watch_set.h): the session's watches, set again after a move.
#include "client/core/watch_set.h"

#include <set>

#include "base/assert.h"

namespace synod::client {
namespace {

using protocol::EventType;
using protocol::WatchKind;

bool at_or_below(std::string_view watched, std::string_view path) {
  if (watched == "/") return true;
  if (path.size() < watched.size() || path.substr(0, watched.size()) != watched) return false;
  return path.size() == watched.size() || path[watched.size()] == '/';
}

// The key a registration is set again under (watch_set.h, rewatch).
WatchKind sent_kind(WatchKind kind, bool existed) {
  return kind == WatchKind::exists && existed ? WatchKind::data : kind;
}

}  // namespace

bool is_one_shot(WatchKind kind) {
  return kind == WatchKind::data || kind == WatchKind::exists || kind == WatchKind::children;
}

bool watch_fires(WatchKind kind, std::string_view watched, const protocol::Event& event) {
  const EventType t = event.type;
  if (t == EventType::compacted) return false;
  if (kind == WatchKind::persistent_recursive) {
    return t != EventType::children_changed && at_or_below(watched, event.path);
  }
  if (event.path != watched) return false;
  switch (kind) {
    case WatchKind::data: return t == EventType::data_changed || t == EventType::deleted;
    case WatchKind::exists: return t != EventType::children_changed;
    case WatchKind::children: return t == EventType::children_changed || t == EventType::deleted;
    case WatchKind::persistent: return true;
    case WatchKind::persistent_recursive: break;
  }
  return false;
}

void WatchSet::add(const protocol::Path& path, WatchKind kind, bool existed) {
  watches_[{path.text(), kind}] = Watch{existed};
}

void WatchSet::on_answer(const protocol::ClientBody& request, const protocol::Response& response) {
  const bool ok = response.status.ok();
  if (const auto* q = std::get_if<protocol::GetRequest>(&request)) {
    if (q->watch && ok) add(q->path, WatchKind::data, true);
  } else if (const auto* e = std::get_if<protocol::ExistsRequest>(&request)) {
    const bool missing = response.status.error == protocol::Error::NO_NODE;
    if (e->watch && (ok || missing)) add(e->path, WatchKind::exists, ok);
  } else if (const auto* c = std::get_if<protocol::ChildrenRequest>(&request)) {
    if (c->watch && ok) add(c->path, WatchKind::children, true);
  } else if (const auto* w = std::get_if<protocol::SetWatchRequest>(&request)) {
    const bool found = std::holds_alternative<protocol::StatResult>(response.body);
    if (ok) add(w->path, w->kind, found);
  } else if (const auto* r = std::get_if<protocol::RemoveWatchRequest>(&request)) {
    if (ok) on_removed(*r);
  }
}

void WatchSet::on_removed(const protocol::RemoveWatchRequest& request) {
  watches_.erase({request.path.text(), request.kind});
}

void WatchSet::on_event(const protocol::Event& event) {
  for (auto it = watches_.begin(); it != watches_.end();) {
    const bool fired =
        is_one_shot(it->first.second) && watch_fires(it->first.second, it->first.first, event);
    it = fired ? watches_.erase(it) : std::next(it);
  }
}

std::vector<protocol::SetWatchRequest> WatchSet::rewatch(Zxid since) const {
  std::vector<protocol::SetWatchRequest> out;
  std::set<Key> sent;
  for (const auto& [key, watch] : watches_) {
    const WatchKind kind = sent_kind(key.second, watch.existed);
    if (!sent.insert({key.first, kind}).second) continue;
    auto path = protocol::Path::parse(key.first);
    SYNOD_ASSERT_MSG(path.ok(), "registered paths came from parsed requests");
    out.push_back(protocol::SetWatchRequest{std::move(path).value(), kind, since});
  }
  return out;
}

std::vector<protocol::WatchEvent> WatchSet::refused(const protocol::SetWatchRequest& request,
                                                    Zxid since) {
  std::vector<protocol::WatchEvent> out;
  for (auto it = watches_.begin(); it != watches_.end();) {
    const bool same = it->first.first == request.path.text() &&
                      sent_kind(it->first.second, it->second.existed) == request.kind;
    if (!same) {
      ++it;
      continue;
    }
    out.push_back(
        protocol::WatchEvent{protocol::Event{EventType::compacted, it->first.first, since},
                             request.path, it->first.second});
    it = watches_.erase(it);
  }
  return out;
}

}  // namespace synod::client
