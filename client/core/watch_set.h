// WatchSet: the watches a session holds on the server it is attached to, as
// the client knows them, so that a session which moves to another server
// (or back to the same one: a server forgets a connection's watches when it
// closes) can set every one of them again, as ZooKeeper's SetWatches does.
// A deterministic value inside SessionCore: no clock, no I/O.
//
// What it learns, in the order the server answered:
//   on_answer   a read with watch = true, or a SetWatchRequest, answered:
//               registers what the server registered (a get or children
//               read that found the node; an exists read, found or not; a
//               SetWatch answered OK). An exists watch remembers whether the
//               node existed.
//   on_removed  a RemoveWatchRequest answered: forgotten.
//   on_event    an event arrived: the one-shot registrations it fired (the
//               trigger table of server/replica/watches.h, applied to the
//               registration's own kind) are gone, as on the server.
// What it says on a move:
//   rewatch(z)  one SetWatchRequest per registration, from_zxid = z: the
//               session's last zxid before the move (every event up to it
//               was delivered, DESIGN.md "Watches"; not the new server's
//               answer, whose zxid may pass changes never delivered; nor, on a
//               move before the last move's rewatches were answered, that
//               move's open answer: SessionCore keeps the earlier zxid). One-shot watches come back
//               at once if their node changed after z (the server fires them); an exists watch on a
//               node that existed comes as a data watch (the same triggers while the node exists,
//               and the server can then see that it is gone; one request when the path has a data
//               watch too); persistent ones replay what they missed after z, or are refused
//               COMPACTED.
//   refused     the server refused one of those: the registration is gone,
//               and the event for its watcher is a compacted event naming
//               it (EventType::compacted), which the watcher must handle by
//               re-reading and watching again.
// The set never grows beyond what the server accepted (its
// watches_per_client_max bounds it).
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "base/ids.h"
#include "protocol/messages.h"

namespace synod::client {

// Whether a watch of `kind` on `watched` fires on `event` (the trigger table
// of server/replica/watches.h; compacted events fire nothing).
[[nodiscard]] bool watch_fires(protocol::WatchKind kind, std::string_view watched,
                               const protocol::Event& event);
[[nodiscard]] bool is_one_shot(protocol::WatchKind kind);

class WatchSet {
 public:
  void on_answer(const protocol::ClientBody& request, const protocol::Response& response);
  void on_removed(const protocol::RemoveWatchRequest& request);
  void on_event(const protocol::Event& event);

  [[nodiscard]] std::vector<protocol::SetWatchRequest> rewatch(Zxid since) const;
  // `request` is one rewatch() made: forgets the registrations it stood for
  // (a data request also stands for an exists watch on an existing node)
  // and returns one compacted event per registration, labelled with it.
  [[nodiscard]] std::vector<protocol::WatchEvent> refused(const protocol::SetWatchRequest& request,
                                                          Zxid since);

  void clear() { watches_.clear(); }
  [[nodiscard]] std::size_t size() const { return watches_.size(); }
  [[nodiscard]] bool contains(const std::string& path, protocol::WatchKind kind) const {
    return watches_.contains({path, kind});
  }

 private:
  struct Watch {
    bool existed = false;  // exists watches: the node existed when it was set
  };
  using Key = std::pair<std::string, protocol::WatchKind>;
  void add(const protocol::Path& path, protocol::WatchKind kind, bool existed);

  std::map<Key, Watch> watches_;  // ordered: rewatch() sends in a fixed order
};

}  // namespace synod::client
