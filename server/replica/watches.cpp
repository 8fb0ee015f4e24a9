#include "server/replica/watches.h"

#include <algorithm>
#include <bit>
#include <limits>
#include <string>
#include <utility>

#include "base/assert.h"

namespace synod::replica {

namespace {

using protocol::EventType;
using protocol::WatchKind;

// One bit per kind, from its wire number: data (1) is bit 0, persistent_recursive (5) bit 4.
constexpr unsigned bit_index(WatchKind kind) {
  SYNOD_ASSERT(is_watch_kind(kind));
  return static_cast<unsigned>(kind) - static_cast<unsigned>(watch_kind_first);
}
static_assert(bit_index(watch_kind_last) < 8, "every kind has a bit in a KindMask");

constexpr std::uint8_t bit(WatchKind kind) {
  return static_cast<std::uint8_t>(1u << bit_index(kind));
}

constexpr std::uint8_t all_kind_bits = static_cast<std::uint8_t>(bit(watch_kind_last) * 2 - 1);

constexpr std::uint8_t one_shot_bits =
    bit(WatchKind::data) | bit(WatchKind::exists) | bit(WatchKind::children);

// The kinds registered exactly at an event's path that fire on it (the table
// in watches.h). Recursive watches on ancestors are handled separately.
constexpr std::uint8_t exact_fire_bits(EventType type) {
  switch (type) {
    case EventType::created:
      return bit(WatchKind::exists) | bit(WatchKind::persistent) |
             bit(WatchKind::persistent_recursive);
    case EventType::deleted:
      return bit(WatchKind::data) | bit(WatchKind::exists) | bit(WatchKind::children) |
             bit(WatchKind::persistent) | bit(WatchKind::persistent_recursive);
    case EventType::data_changed:
      return bit(WatchKind::data) | bit(WatchKind::exists) | bit(WatchKind::persistent) |
             bit(WatchKind::persistent_recursive);
    case EventType::children_changed:
      return bit(WatchKind::children) | bit(WatchKind::persistent);
    case EventType::compacted: return 0;  // not a change: the store never emits it
  }
  return 0;  // a type from a newer store: nothing fires
}

constexpr bool recursive_fires_on(EventType type) {
  return type == EventType::created || type == EventType::deleted ||
         type == EventType::data_changed;
}

// The parent of an absolute, valid path other than "/".
std::string_view parent_of(std::string_view path) {
  const std::size_t slash = path.rfind('/');
  SYNOD_ASSERT(slash != std::string_view::npos);
  return slash == 0 ? std::string_view("/") : path.substr(0, slash);
}

// Whether `path` is `watched` or lies below it, by whole components.
bool is_at_or_below(std::string_view watched, std::string_view path) {
  if (watched == "/") return true;
  if (path.size() < watched.size() || path.substr(0, watched.size()) != watched) return false;
  return path.size() == watched.size() || path[watched.size()] == '/';
}

// Whether a persistent watch of `kind` on `watched` fires on `event`.
bool persistent_fires(WatchKind kind, std::string_view watched, const protocol::Event& event) {
  if (kind == WatchKind::persistent) return event.path == watched;
  return recursive_fires_on(event.type) && is_at_or_below(watched, event.path);
}

std::size_t event_bytes(const protocol::Event& event) {
  return event.path.size() + history_event_overhead_bytes;
}

std::string kind_name(WatchKind kind) {
  switch (kind) {
    case WatchKind::data:
      return "data";
    case WatchKind::exists:
      return "exists";
    case WatchKind::children:
      return "children";
    case WatchKind::persistent:
      return "persistent";
    case WatchKind::persistent_recursive:
      return "persistent_recursive";
  }
  return "kind " + std::to_string(static_cast<unsigned>(kind));
}

}  // namespace

WatchRegistry::WatchRegistry(Zxid history_start, WatchLimits limits, NodeId self)
    : limits_(limits), self_(self), dropped_through_(history_start), last_applied_(history_start) {
  SYNOD_ASSERT_MSG(limits_.watches_per_client_max >= 1, "a client must be able to hold a watch");
  SYNOD_ASSERT_MSG(limits_.watches_max >= 1, "a server must be able to hold a watch");
}

protocol::Status WatchRegistry::check_room(ClientId client, const protocol::Path& path,
                                           WatchKind kind) {
  SYNOD_ASSERT_MSG(is_watch_kind(kind), "the decoder passes only known kinds");
  if (contains(client, path, kind)) return protocol::ok_status();  // idempotent
  SYNOD_ASSERT(count_ <= limits_.watches_max);
  if (count_ == limits_.watches_max) {
    ++refused_over_budget_;
    std::string message = "server ";
    message += std::to_string(self_.value());
    message += " holds ";
    message += std::to_string(count_);
    message += " watches, its limit (watches_max); a ";
    message += kind_name(kind);
    message += " watch on ";
    message += path.text();
    message += " is refused until others are removed or fire";
    return protocol::error_status(protocol::Error::LIMIT_EXCEEDED, std::move(message));
  }
  const std::size_t held = count(client);
  SYNOD_ASSERT(held <= limits_.watches_per_client_max);
  if (held == limits_.watches_per_client_max) {
    return protocol::error_status(
        protocol::Error::LIMIT_EXCEEDED,
        "client " + std::to_string(client.value()) + " already holds " + std::to_string(held) +
            " watches, the most watches_per_client_max allows; remove some before adding a " +
            kind_name(kind) + " watch on " + path.text());
  }
  return protocol::ok_status();
}

void WatchRegistry::insert(ClientId client, const std::string& path, WatchKind kind) {
  KindMask& mask = by_path_[path][client];
  if ((mask & bit(kind)) != 0) return;
  mask = static_cast<KindMask>(mask | bit(kind));
  ClientState& state = by_client_[client];
  state.paths.insert(path);
  state.count += 1;
  count_ += 1;
  SYNOD_ASSERT(state.count <= limits_.watches_per_client_max);
  SYNOD_ASSERT(count_ <= limits_.watches_max);
}

protocol::Status WatchRegistry::add(ClientId client, const protocol::Path& path, WatchKind kind) {
  protocol::Status room = check_room(client, path, kind);
  if (!room.ok()) return room;
  insert(client, path.text(), kind);
  return protocol::ok_status();
}

protocol::Result<std::vector<Notification>> WatchRegistry::add_from(ClientId client,
                                                                    const protocol::Path& path,
                                                                    WatchKind kind, Zxid from_zxid,
                                                                    Zxid applied_zxid) {
  auto page = add_from_page(client, path, kind, from_zxid, applied_zxid,
                            std::numeric_limits<std::size_t>::max());
  if (!page.ok()) return page.status();
  SYNOD_ASSERT(!page.value().more_after);
  return std::move(page.value().events);
}

protocol::Status WatchRegistry::check_retained(Zxid from_zxid) const {
  if (from_zxid >= dropped_through_ || limits_.canary_ignore_compaction) {
    return protocol::ok_status();
  }
  const std::optional<Zxid> oldest = history_oldest_zxid();
  const std::string retained =
      oldest ? "the oldest event still retained is at zxid " + std::to_string(oldest->value())
             : "no event is retained";
  return protocol::error_status(protocol::Error::COMPACTED,
                                "events after zxid " + std::to_string(from_zxid.value()) +
                                    " up to zxid " + std::to_string(dropped_through_.value()) +
                                    " are no longer retained; " + retained + "; watch from zxid " +
                                    std::to_string(dropped_through_.value()) +
                                    " or later, or re-read the state and watch from its zxid");
}

protocol::Result<ReplayPage> WatchRegistry::add_from_page(ClientId client,
                                                          const protocol::Path& path,
                                                          WatchKind kind, Zxid from_zxid,
                                                          Zxid applied_zxid,
                                                          std::size_t page_events_max) {
  SYNOD_ASSERT_MSG(applied_zxid >= last_applied_, "the registry saw an entry the caller has not");
  if (is_one_shot(kind)) {
    return protocol::error_status(protocol::Error::BAD_ARGUMENTS,
                                  "watch-from-zxid needs a persistent or persistent_recursive "
                                  "watch, not a " +
                                      kind_name(kind) + " watch");
  }
  if (from_zxid > applied_zxid) {
    return protocol::error_status(protocol::Error::BAD_ARGUMENTS,
                                  "watch from zxid " + std::to_string(from_zxid.value()) +
                                      " is past this server's applied zxid " +
                                      std::to_string(applied_zxid.value()));
  }
  if (protocol::Status retained = check_retained(from_zxid); !retained.ok()) return retained;
  protocol::Status room = check_room(client, path, kind);
  if (!room.ok()) return room;
  ReplayPage page =
      collect_page(client, path.text(), kind, from_zxid, applied_zxid, page_events_max);
  insert(client, path.text(), kind);
  return page;
}

protocol::Result<ReplayPage> WatchRegistry::replay_page(ClientId client, const protocol::Path& path,
                                                        WatchKind kind, Zxid after, Zxid through,
                                                        std::size_t page_events_max) const {
  SYNOD_ASSERT(after <= through && through <= last_applied_);
  if (protocol::Status retained = check_retained(after); !retained.ok()) return retained;
  return collect_page(client, path.text(), kind, after, through, page_events_max);
}

ReplayPage WatchRegistry::collect_page(ClientId client, const std::string& path, WatchKind kind,
                                       Zxid after, Zxid through,
                                       std::size_t page_events_max) const {
  SYNOD_ASSERT(page_events_max >= 1);
  // Entries are in increasing zxid: skip those at or before `after`.
  const auto first =
      std::upper_bound(history_.begin(), history_.end(), after,
                       [](Zxid zxid, const HistoryEntry& entry) { return zxid < entry.zxid; });
  ReplayPage page;
  std::vector<Notification> one_entry;
  for (auto entry = first; entry != history_.end() && entry->zxid <= through; ++entry) {
    one_entry.clear();
    for (const protocol::Event& event : entry->events) {
      if (persistent_fires(kind, path, event)) one_entry.push_back({client, event});
    }
    if (one_entry.empty()) continue;
    if (!page.events.empty() && page.events.size() + one_entry.size() > page_events_max) {
      page.more_after = page.events.back().event.zxid;
      return page;
    }
    page.events.insert(page.events.end(), one_entry.begin(), one_entry.end());
  }
  return page;
}

WatchRegistry::ClientMasks::iterator WatchRegistry::clear_bits(
    std::map<std::string, ClientMasks, std::less<>>::iterator at, ClientMasks::iterator entry,
    KindMask bits) {
  const auto cleared = static_cast<KindMask>(entry->second & bits);
  if (cleared == 0) return std::next(entry);
  const auto removed = static_cast<std::size_t>(std::popcount(cleared));
  entry->second = static_cast<KindMask>(entry->second & ~bits);
  const auto state = by_client_.find(entry->first);
  SYNOD_ASSERT(state != by_client_.end() && state->second.count >= removed);
  SYNOD_ASSERT(count_ >= removed);
  state->second.count -= removed;
  count_ -= removed;
  if (entry->second != 0) return std::next(entry);
  state->second.paths.erase(at->first);
  if (state->second.count == 0) {
    SYNOD_ASSERT(state->second.paths.empty());
    by_client_.erase(state);
  }
  return at->second.erase(entry);
}

void WatchRegistry::remove(ClientId client, const protocol::Path& path, WatchKind kind) {
  const auto at = by_path_.find(path.text());
  if (at == by_path_.end()) return;
  const auto entry = at->second.find(client);
  if (entry == at->second.end()) return;
  clear_bits(at, entry, bit(kind));
  if (at->second.empty()) by_path_.erase(at);
}

void WatchRegistry::remove_client(ClientId client) {
  const auto state = by_client_.find(client);
  if (state == by_client_.end()) return;
  // Copy: clear_bits erases from the set being walked, and the client's
  // state itself once its last registration goes.
  const std::vector<std::string> paths(state->second.paths.begin(), state->second.paths.end());
  for (const std::string& path : paths) {
    const auto at = by_path_.find(path);
    SYNOD_ASSERT(at != by_path_.end());
    const auto entry = at->second.find(client);
    SYNOD_ASSERT(entry != at->second.end());
    clear_bits(at, entry, static_cast<KindMask>(0xFF));
    if (at->second.empty()) by_path_.erase(at);
  }
  SYNOD_ASSERT(by_client_.find(client) == by_client_.end());
}

void WatchRegistry::collect_targets(const protocol::Event& event) {
  const std::uint8_t fire = exact_fire_bits(event.type);
  const auto at = by_path_.find(event.path);
  if (at != by_path_.end()) {
    for (auto entry = at->second.begin(); entry != at->second.end();) {
      if ((entry->second & fire) == 0) {
        ++entry;
        continue;
      }
      targets_.push_back(entry->first);
      const auto fired = limits_.canary_keep_fired_one_shots ? 0 : fire & one_shot_bits;
      entry = clear_bits(at, entry, static_cast<KindMask>(fired));
    }
    if (at->second.empty()) by_path_.erase(at);
  }
  if (!recursive_fires_on(event.type)) return;
  // Recursive watches above the path: walk the ancestors, one lookup each,
  // instead of scanning every watch.
  std::string_view path = event.path;
  while (path != "/") {
    path = parent_of(path);
    const auto above = by_path_.find(path);
    if (above == by_path_.end()) continue;
    for (const auto& [client, mask] : above->second) {
      if ((mask & bit(WatchKind::persistent_recursive)) != 0) targets_.push_back(client);
    }
  }
}

void WatchRegistry::on_applied(Zxid zxid, std::span<const protocol::Event> events,
                               std::vector<Notification>& out) {
  SYNOD_ASSERT_MSG(zxid > last_applied_, "entries are applied in increasing zxid");
  last_applied_ = zxid;
  for (const protocol::Event& event : events) {
    SYNOD_ASSERT_MSG(event.zxid == zxid, "an entry's events carry its zxid");
    SYNOD_ASSERT_MSG(!event.path.empty() && event.path.front() == '/', "events name paths");
    targets_.clear();
    collect_targets(event);
    std::sort(targets_.begin(), targets_.end());
    targets_.erase(std::unique(targets_.begin(), targets_.end()), targets_.end());
    for (ClientId client : targets_) out.push_back({client, event});
  }
  record_history(zxid, events);
}

void WatchRegistry::record_history(Zxid zxid, std::span<const protocol::Event> events) {
  if (events.empty()) return;
  HistoryEntry entry{zxid, {events.begin(), events.end()}, 0};
  for (const protocol::Event& event : events) entry.bytes += event_bytes(event);
  history_events_ += entry.events.size();
  history_bytes_ += entry.bytes;
  history_.push_back(std::move(entry));
  while (!history_.empty() && (history_events_ > limits_.history_events_max ||
                               history_bytes_ > limits_.history_bytes_max)) {
    const HistoryEntry& oldest = history_.front();
    SYNOD_ASSERT(oldest.zxid > dropped_through_);
    dropped_through_ = oldest.zxid;
    history_events_ -= oldest.events.size();
    history_bytes_ -= oldest.bytes;
    history_.pop_front();
  }
}

void WatchRegistry::reset_history(Zxid zxid) {
  SYNOD_ASSERT_MSG(zxid >= last_applied_, "a snapshot does not move the applied point back");
  history_.clear();
  history_events_ = 0;
  history_bytes_ = 0;
  dropped_through_ = zxid;
  last_applied_ = zxid;
}

std::size_t WatchRegistry::count(ClientId client) const {
  const auto state = by_client_.find(client);
  return state == by_client_.end() ? 0 : state->second.count;
}

bool WatchRegistry::contains(ClientId client, const protocol::Path& path, WatchKind kind) const {
  const auto at = by_path_.find(path.text());
  if (at == by_path_.end()) return false;
  const auto entry = at->second.find(client);
  return entry != at->second.end() && (entry->second & bit(kind)) != 0;
}

std::optional<Zxid> WatchRegistry::history_oldest_zxid() const {
  if (history_.empty()) return std::nullopt;
  return history_.front().zxid;
}

void WatchRegistry::check_invariants() const {
  std::size_t total = 0;
  std::map<ClientId, std::size_t> per_client;
  for (const auto& [path, clients] : by_path_) {
    SYNOD_ASSERT_MSG(!clients.empty(), "an emptied path is erased");
    for (const auto& [client, mask] : clients) {
      SYNOD_ASSERT_MSG(mask != 0, "an emptied client entry is erased");
      SYNOD_ASSERT((mask & ~all_kind_bits) == 0);
      const auto state = by_client_.find(client);
      SYNOD_ASSERT(state != by_client_.end() && state->second.paths.contains(path));
      const auto bits = static_cast<std::size_t>(std::popcount(mask));
      per_client[client] += bits;
      total += bits;
    }
  }
  SYNOD_ASSERT(total == count_);
  SYNOD_ASSERT(count_ <= limits_.watches_max);
  SYNOD_ASSERT(per_client.size() == by_client_.size());
  for (const auto& [client, state] : by_client_) {
    SYNOD_ASSERT(per_client[client] == state.count);
    SYNOD_ASSERT(state.count <= limits_.watches_per_client_max);
  }
  std::size_t events = 0;
  std::size_t bytes = 0;
  Zxid previous = dropped_through_;
  for (const HistoryEntry& entry : history_) {
    SYNOD_ASSERT(entry.zxid > previous && !entry.events.empty());
    previous = entry.zxid;
    events += entry.events.size();
    bytes += entry.bytes;
  }
  SYNOD_ASSERT(events == history_events_ && bytes == history_bytes_);
  SYNOD_ASSERT(events <= limits_.history_events_max && bytes <= limits_.history_bytes_max);
  SYNOD_ASSERT(previous <= last_applied_);
}

}  // namespace synod::replica
