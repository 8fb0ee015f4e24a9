// WatchRegistry: the watches of the clients attached to this server, and the
// bounded history of recent events that watch-from-zxid replays.
//
// Watches are not replicated (DESIGN.md "Store"): each server keeps the
// registrations of its own clients and loses them when it restarts; clients
// re-register. The replica calls on_applied() after applying each log entry,
// with that entry's events, and must deliver the notifications it returns to
// each client before any response carrying a higher zxid. The registry is a
// deterministic, single-threaded value: no clock, no I/O, no allocation order
// reaching the output.
//
// ## Kinds and trigger rules (ZooKeeper 3.6 semantics)
//   kind                  set by                  fires on (event at path P)
//   data                  get on an existing P    data_changed P, deleted P
//   exists                exists P                created P, deleted P, data_changed P
//   children              children of P           children_changed P, deleted P
//   persistent            add_watch               created, deleted, data_changed,
//                                                 children_changed of exactly P
//   persistent_recursive  add_watch               created, deleted, data_changed of P
//                                                 or any path below P (never
//                                                 children_changed, as ZooKeeper)
// data, exists and children are one-shot: they are removed as they fire. The
// persistent kinds stay until removed. "Below P" is by whole components: a
// recursive watch on /a matches /a/b but never /ab.
//
// ## One notification per client per event
// As ZooKeeper does (WatchManager.triggerWatch collects a set of watchers),
// a client whose several registrations match one event receives ONE
// Notification for it; every matching one-shot registration of that client is
// removed all the same. The client library fans the event out to each of its
// local watches that match. Two events of one entry (say deleted /a/b and
// children_changed /a) are two events: a client may get one of each.
//
// ## Order
// Notifications come in event order; within one event, in increasing ClientId.
// Nothing depends on hash-table iteration order.
//
// ## History and watch-from-zxid
// Every event passed to on_applied() is kept in a history, whole entries at a
// time, bounded by WatchLimits::history_events_max and history_bytes_max; the
// oldest entries are dropped first, and the registry remembers the highest
// zxid it dropped (or that preceded it, see the constructor). add_from()
// registers a persistent watch and returns the retained events after a given
// zxid that the watch would have delivered, or COMPACTED when some of them may
// be gone: never a silent gap (features.md §1.5, etcd's start_revision).
// add_from_page() and replay_page() serve the same replay a page at a time
// (the replica sends the next page once the connection drained).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/ids.h"
#include "protocol/error.h"
#include "protocol/messages.h"
#include "protocol/path.h"
#include "server/replica/client_id.h"
#include "server/store/types.h"

namespace synod::replica {

// The kinds are the protocol's own (protocol::WatchKind, numbered as on the
// wire: data = 1 .. persistent_recursive = 5); the registry keeps one bit per
// kind in a KindMask, derived from that number. A kind outside the range is
// never passed in (the decoder refuses it; asserted).
inline constexpr protocol::WatchKind watch_kind_first = protocol::WatchKind::data;
inline constexpr protocol::WatchKind watch_kind_last = protocol::WatchKind::persistent_recursive;

[[nodiscard]] constexpr bool is_watch_kind(protocol::WatchKind kind) {
  return kind >= watch_kind_first && kind <= watch_kind_last;
}

[[nodiscard]] constexpr bool is_one_shot(protocol::WatchKind kind) {
  return kind == protocol::WatchKind::data || kind == protocol::WatchKind::exists ||
         kind == protocol::WatchKind::children;
}

// Bytes one event is charged in the history: the length of its path plus this
// fixed overhead (a platform-independent stand-in for the struct and the
// container's bookkeeping, so every server drops at the same point).
inline constexpr std::size_t history_event_overhead_bytes = 64;

// Defaults of WatchLimits (STYLE.md habit 6).
inline constexpr std::size_t watches_per_client_max_default = 100'000;
inline constexpr std::size_t watches_max_default = 1'000'000;
static_assert(watches_max_default >= watches_per_client_max_default,
              "one client alone can reach its own limit");
inline constexpr std::size_t history_events_max_default = 100'000;
inline constexpr std::size_t history_bytes_max_default = std::size_t{64} << 20;  // 64 MiB
// A multi of multi_ops_max creates/deletes emits about two events per op (the
// node's and its parent's children_changed). The default history must hold at
// least one such entry at the longest path, or watch-from-zxid would answer
// COMPACTED right after any large multi.
inline constexpr std::size_t large_entry_events = 2 * protocol::multi_ops_max;
static_assert(history_events_max_default >= large_entry_events);
static_assert(history_bytes_max_default >=
              large_entry_events * (protocol::path_bytes_max + history_event_overhead_bytes));
static_assert(history_bytes_max_default >=
                  history_events_max_default * history_event_overhead_bytes,
              "with short paths the event bound, not the byte bound, should bind first");

struct WatchLimits {
  // Registrations (client, path, kind) one client may hold, >= 1. add() and
  // add_from() beyond it: LIMIT_EXCEEDED.
  std::size_t watches_per_client_max = watches_per_client_max_default;
  // Events kept for watch-from-zxid, and their bytes as charged above. Either
  // may be 0 (no history: add_from() answers COMPACTED for any past zxid that
  // had events after it). An entry larger than a bound on its own is dropped
  // at once, whole.
  std::size_t history_events_max = history_events_max_default;
  std::size_t history_bytes_max = history_bytes_max_default;
  // Registrations this server holds over all its clients, >= 1 (synodd
  // --watches-max): a memory bound however many connections come. A new one
  // beyond it: LIMIT_EXCEEDED "server N holds M watches, its limit",
  // nothing registered, counted (refused_over_budget()).
  std::size_t watches_max = watches_max_default;
  // Deliberate bugs for the simulator's canaries; never set in synodd.
  bool canary_keep_fired_one_shots = false;  // a one-shot watch fires again and again
  bool canary_ignore_compaction = false;     // add_from() replays across a gap, silently
};

// One event to send to one client.
struct Notification {
  ClientId client{};
  protocol::Event event;
  friend bool operator==(const Notification&, const Notification&) = default;
};

// One page of a watch-from-zxid replay (add_from_page, replay_page): events
// in zxid (then event) order, whole entries at a time, and where the next
// page starts when events remain.
struct ReplayPage {
  std::vector<Notification> events;
  // Events with zxid > more_after (up to the replay's `through`) remain;
  // nullopt: the replay is complete.
  std::optional<Zxid> more_after;
};

class WatchRegistry {
 public:
  // `history_start` is the applied zxid at which this registry begins to see
  // events (the snapshot or log point the replica started from): the registry
  // knows nothing at or before it, so add_from() below it answers COMPACTED.
  // `self` is this server's id, for the refusals' messages. Asserts
  // limits.watches_per_client_max >= 1 and limits.watches_max >= 1.
  explicit WatchRegistry(Zxid history_start = Zxid{0}, WatchLimits limits = {},
                         NodeId self = NodeId{0});

  // Registers (client, path, kind). Adding a registration that exists is OK
  // and changes nothing. A new one beyond watches_per_client_max or
  // watches_max: LIMIT_EXCEEDED, nothing registered. Any kind is accepted; the replica
  // decides which read sets which kind (a data watch only on an existing node).
  [[nodiscard]] protocol::Status add(ClientId client, const protocol::Path& path,
                                     protocol::WatchKind kind);

  // Watch-from-zxid. Registers (client, path, kind) for kind persistent or
  // persistent_recursive, and returns, in zxid (then event) order, every
  // retained event with zxid > from_zxid that this watch would have fired on.
  // The caller sends them to the client before anything on_applied() produces
  // later, so the client sees each event once and in order. Refusals register
  // nothing:
  //   BAD_ARGUMENTS   kind is one-shot, or from_zxid > applied_zxid
  //   COMPACTED       events after from_zxid may have left the history (its
  //                   message names the oldest zxid still retained and the
  //                   lowest from_zxid that would be served)
  //   LIMIT_EXCEEDED  as add()
  // `applied_zxid` is the replica's applied point; it must be at least the
  // zxid of the last on_applied() call (asserted: the registry sees every
  // entry as it is applied).
  [[nodiscard]] protocol::Result<std::vector<Notification>> add_from(
      ClientId client, const protocol::Path& path, protocol::WatchKind kind, Zxid from_zxid,
      Zxid applied_zxid);

  // add_from() a page at a time, for a replay larger than a connection's
  // send queue may hold (the replica sends the next page once the
  // connection drained). The same refusals; the watch is registered at
  // once, so what on_applied() produces for it later (zxid > applied_zxid)
  // follows the whole replay. A page holds at most page_events_max (>= 1,
  // asserted) events, or one entry's alone when that entry has more; it is
  // never empty when more_after is set.
  [[nodiscard]] protocol::Result<ReplayPage> add_from_page(ClientId client,
                                                           const protocol::Path& path,
                                                           protocol::WatchKind kind, Zxid from_zxid,
                                                           Zxid applied_zxid,
                                                           std::size_t page_events_max);
  // The next page of a replay add_from_page() began: the retained events
  // with after < zxid <= through that a (client, path, kind) watch fires on.
  // COMPACTED when the history dropped any of them meanwhile (never a silent
  // gap). Registers nothing.
  [[nodiscard]] protocol::Result<ReplayPage> replay_page(ClientId client,
                                                         const protocol::Path& path,
                                                         protocol::WatchKind kind, Zxid after,
                                                         Zxid through,
                                                         std::size_t page_events_max) const;

  // Removes (client, path, kind) if registered; otherwise does nothing.
  void remove(ClientId client, const protocol::Path& path, protocol::WatchKind kind);
  // Removes every registration of `client` (its connection closed or its
  // session ended). Unknown clients are fine.
  void remove_client(ClientId client);

  // Called once per applied log entry, in zxid order (zxid strictly above the
  // previous call's; asserted), with the entry's events, each carrying `zxid`
  // (asserted). Appends to `out`, in event order, one Notification per client
  // to notify for each event (clients in increasing id), removes the one-shot
  // registrations that fired, and records the events in the history, dropping
  // whole oldest entries beyond the limits. An entry without events records
  // nothing and notifies no one.
  void on_applied(Zxid zxid, std::span<const protocol::Event> events,
                  std::vector<Notification>& out);

  // Forgets the history after the replica replaced its store by a snapshot at
  // `zxid` (events up to it were never seen here): add_from() below `zxid`
  // then answers COMPACTED. Registrations stay; the replica decides what to
  // tell their clients about the events they missed. Asserts `zxid` is not
  // below the last on_applied() zxid.
  void reset_history(Zxid zxid);

  // Registrations, in all and of one client (0 for a client with none).
  [[nodiscard]] std::size_t count() const { return count_; }
  [[nodiscard]] std::size_t count(ClientId client) const;
  // New registrations refused because the server held watches_max, since
  // construction (synod_watches_refused_total).
  [[nodiscard]] std::uint64_t refused_over_budget() const { return refused_over_budget_; }
  // Whether (client, path, kind) is registered.
  [[nodiscard]] bool contains(ClientId client, const protocol::Path& path,
                              protocol::WatchKind kind) const;

  // The zxid of the oldest event retained, or nullopt when none is.
  [[nodiscard]] std::optional<Zxid> history_oldest_zxid() const;
  // The highest zxid whose events may be missing from the history (dropped,
  // or before history_start): add_from() serves from_zxid >= this.
  [[nodiscard]] Zxid history_dropped_through() const { return dropped_through_; }
  [[nodiscard]] std::size_t history_events() const { return history_events_; }
  [[nodiscard]] std::size_t history_bytes() const { return history_bytes_; }
  [[nodiscard]] const WatchLimits& limits() const { return limits_; }

  // Asserts that the path index and the client index agree and that the
  // counters match them. O(registrations); for tests and the simulator.
  void check_invariants() const;

 private:
  // The kinds one client holds on one path: bit (wire number - 1) per kind.
  using KindMask = std::uint8_t;
  using ClientMasks = std::map<ClientId, KindMask>;
  struct ClientState {
    std::set<std::string, std::less<>> paths;  // paths with >= 1 registration
    std::size_t count = 0;                     // registrations, <= watches_per_client_max
  };
  struct HistoryEntry {
    Zxid zxid{};
    std::vector<protocol::Event> events;
    std::size_t bytes = 0;
  };

  // Whether a new (client, path, kind) fits both limits; counts a refusal
  // over watches_max.
  [[nodiscard]] protocol::Status check_room(ClientId client, const protocol::Path& path,
                                            protocol::WatchKind kind);
  void insert(ClientId client, const std::string& path, protocol::WatchKind kind);
  // Clears `bits` from client's mask at the path `at` points to, erasing
  // emptied entries. Returns the iterator after the client's entry.
  ClientMasks::iterator clear_bits(std::map<std::string, ClientMasks, std::less<>>::iterator at,
                                   ClientMasks::iterator entry, KindMask bits);
  // Appends to targets_ the clients to notify for `event`, removing fired
  // one-shot registrations.
  void collect_targets(const protocol::Event& event);
  void record_history(Zxid zxid, std::span<const protocol::Event> events);
  // COMPACTED when events after `from_zxid` may have left the history.
  [[nodiscard]] protocol::Status check_retained(Zxid from_zxid) const;
  [[nodiscard]] ReplayPage collect_page(ClientId client, const std::string& path,
                                        protocol::WatchKind kind, Zxid after, Zxid through,
                                        std::size_t page_events_max) const;

  WatchLimits limits_;
  NodeId self_;
  std::uint64_t refused_over_budget_ = 0;
  // path -> client -> kinds. Ordered maps: exact lookups are O(log n) and the
  // per-path client order is deterministic. (A hash map would be O(1) but its
  // order must never reach the output; the ordered map makes that structural.)
  std::map<std::string, ClientMasks, std::less<>> by_path_;
  std::map<ClientId, ClientState> by_client_;
  std::size_t count_ = 0;

  std::deque<HistoryEntry> history_;
  std::size_t history_events_ = 0;
  std::size_t history_bytes_ = 0;
  Zxid dropped_through_{};
  Zxid last_applied_{};

  std::vector<ClientId> targets_;  // scratch for on_applied, reused
};

}  // namespace synod::replica
