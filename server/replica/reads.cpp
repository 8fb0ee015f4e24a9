// Replica: evaluating a read at the head of its connection's queue, one leaf
// per request kind. Each runs at the replica's applied point, after every
// earlier request on the connection (and, for a linearizable read, after its
// read index: ClientQueue, ReadRounds).
#include <optional>
#include <string>

#include "base/assert.h"
#include "base/overloaded.h"
#include "server/replica/replica.h"

namespace synod::replica {

namespace {

using protocol::Response;

// A get; with watch, a data watch on the node it found.
void read_get(const store::Store& store, WatchRegistry& watches, ClientId id,
              const protocol::GetRequest& q, Response& r) {
  auto got = store.get(q.path);
  if (!got.ok()) {
    r.status = got.status();
    return;
  }
  const store::NodeView& v = got.value();
  r.body = protocol::DataResult{std::string(v.data), v.stat, v.kind, v.ttl_ms};
  if (q.watch) r.status = watches.add(id, q.path, protocol::WatchKind::data);
}

// An exists; with watch, an exists watch whether or not the node exists.
void read_exists(const store::Store& store, WatchRegistry& watches, ClientId id,
                 const protocol::ExistsRequest& q, Response& r) {
  auto got = store.exists(q.path);
  if (q.watch) {
    const protocol::Status added = watches.add(id, q.path, protocol::WatchKind::exists);
    if (!added.ok()) {
      r.status = added;
      return;
    }
  }
  if (!got.ok()) {
    r.status = got.status();
    return;
  }
  r.body = protocol::StatResult{got.value()};
}

// One page of children; with watch, a children watch on the node.
void read_children(const store::Store& store, WatchRegistry& watches, ClientId id,
                   const protocol::ChildrenRequest& q, Response& r, bool canary_skip_last) {
  auto page = store.children(q.path, q.after, q.limit);
  if (!page.ok()) {
    r.status = page.status();
    return;
  }
  protocol::ChildrenResult result{page.value().entries, std::nullopt};
  if (canary_skip_last && result.entries.size() >= 2) result.entries.pop_back();
  if (page.value().more && !result.entries.empty()) {
    result.next_after = result.entries.back().name;
  }
  r.body = std::move(result);
  if (q.watch) r.status = watches.add(id, q.path, protocol::WatchKind::children);
}

// A one-shot watch set again as of `since` (a client whose session moved
// here; ZooKeeper's SetWatches): the event it would have fired had it stayed
// registered, judged from the node's state now, or nullopt when nothing it
// watches changed after `since`. An exists watch on a node the client saw
// comes as a data watch (the same triggers while the node exists), so a
// missing node here is one the client saw missing too.
std::optional<protocol::Event> changed_since(protocol::WatchKind kind, const std::string& path,
                                             const protocol::Result<protocol::Stat>& now,
                                             Zxid since, Zxid applied) {
  using protocol::EventType;
  const bool present = now.ok();
  if (kind == protocol::WatchKind::exists) {
    if (!present) return std::nullopt;
    if (now.value().czxid > since)
      return protocol::Event{EventType::created, path, now.value().czxid};
    if (now.value().mzxid > since) {
      return protocol::Event{EventType::data_changed, path, now.value().mzxid};
    }
    return std::nullopt;
  }
  // data and children: the node the watch was set on is gone (perhaps
  // recreated since: a node of the same path is another node).
  if (!present || now.value().czxid > since)
    return protocol::Event{EventType::deleted, path, applied};
  const Zxid changed = kind == protocol::WatchKind::data ? now.value().mzxid : now.value().pzxid;
  if (changed <= since) return std::nullopt;
  return protocol::Event{
      kind == protocol::WatchKind::data ? EventType::data_changed : EventType::children_changed,
      path, changed};
}

void read_fence(const store::Store& store, const protocol::CheckFenceRequest& q, Response& r) {
  r.status = store.check_fence(q.fence);
  if (r.status.ok()) r.body = protocol::FenceResult{q.fence.token};
}

}  // namespace

protocol::Response Replica::evaluate_read(ClientId id, ClientQueue& client) {
  Response r{client.head_request_id(), Zxid{applied_.value()}, {}, {}};
  std::visit(
      base::Overloaded{
          [&](const protocol::GetRequest& q) { read_get(store_, watches_, id, q, r); },
          [&](const protocol::ExistsRequest& q) { read_exists(store_, watches_, id, q, r); },
          [&](const protocol::ChildrenRequest& q) {
            read_children(store_, watches_, id, q, r, options_.canaries.children_skip_last);
          },
          [&](const protocol::CheckFenceRequest& q) { read_fence(store_, q, r); },
          [&](const protocol::KeepAliveRequest&) { (void)vouch(client.session(), r); },
          [&](const protocol::OpenSessionRequest& q) {
            SYNOD_ASSERT_MSG(q.previous, "only a moved session's open is a read");
            if (!vouch_move(*q.previous, q.secret, r)) {
              client.end_session();
              rebind(id, *q.previous, client);
              client.refuse_unproposed_writes(*q.previous, Zxid{applied_.value()}, r.status);
            } else {
              client.vouched_at(Zxid{applied_.value()});
              session_moved_here(id, *q.previous);
            }
          },
          [&](const protocol::SetWatchRequest& q) { set_watch(id, q, r); },
          [&](const protocol::RemoveWatchRequest& q) { watches_.remove(id, q.path, q.kind); },
          [&](const auto&) {},  // sync: only the zxid matters
      },
      client.head_read());
  return r;
}

// A keep-alive's or a moved session's answer, after its read-index round
// carried the session to the leader: the session and how long it is safe.
bool Replica::vouch(SessionId session, Response& r) {
  if (!store_.session_exists(session)) {
    r.status = protocol::Status{protocol::Error::SESSION_EXPIRED,
                                "session " + std::to_string(session.value()) + " has expired"};
    return false;
  }
  note_session_active(session);
  const std::int64_t timeout = liveness_.timeout_ms(session);
  r.body = protocol::SessionResult{session, timeout, timeout, *store_.session_secret(session)};
  return true;
}

protocol::Status Replica::secret_mismatch(SessionId session) {
  return protocol::Status{protocol::Error::SESSION_EXPIRED,
                          "session " + std::to_string(session.value()) +
                              ": the secret does not match"};
}

// A move's answer: vouch() for a session whose secret matches (a session
// opened before secrets existed has 0, and accepts only 0).
bool Replica::vouch_move(SessionId session, const SessionSecret& secret, Response& r) {
  const std::optional<SessionSecret> known = store_.session_secret(session);
  if (known && *known != secret) {
    r.status = secret_mismatch(session);
    return false;
  }
  return vouch(session, r);
}

// A watch; from a past zxid, a persistent one whose retained events since
// then are sent first (before this answer), or COMPACTED. A one-shot one
// answers the node's stat when it exists.
void Replica::set_watch(ClientId id, const protocol::SetWatchRequest& q, Response& r) {
  if (is_one_shot(q.kind)) {
    set_one_shot_watch(id, q, r);
    return;
  }
  if (!q.from_zxid) {
    r.status = watches_.add(id, q.path, q.kind);
    return;
  }
  const Zxid applied{applied_.value()};
  auto page = watches_.add_from_page(id, q.path, q.kind, *q.from_zxid, applied,
                                     options_.watch_replay_page_events);
  if (!page.ok()) {
    r.status = page.status();
    return;
  }
  for (Notification& n : page.value().events) {
    emit(id, protocol::WatchEvent{std::move(n.event), q.path, q.kind});
  }
  // More than a page: the rest follows as the connection drains, and this
  // answer (pump() keeps it) after the last page.
  if (const std::optional<Zxid> more = page.value().more_after) {
    replays_.emplace(id, PagedReplay{q.path, q.kind, *more, applied, {}, {}});
    output_.notify_drained.push_back(id);
  }
}

// The next page of `id`'s replay, straight to the output (what emit() holds
// waits behind it); the last one ends the replay.
void Replica::send_replay_page(ClientId id) {
  PagedReplay& replay = replays_.at(id);
  auto page = watches_.replay_page(id, replay.path, replay.kind, replay.after, replay.through,
                                   options_.watch_replay_page_events);
  if (!page.ok()) {
    end_replay(id, page.status());
    return;
  }
  if (options_.canaries.replay_page_gap && !page.value().events.empty()) {
    page.value().events.erase(page.value().events.begin());
  }
  for (Notification& n : page.value().events) {
    output_.to_clients.push_back(
        ToClient{id, protocol::WatchEvent{std::move(n.event), replay.path, replay.kind}});
  }
  if (const std::optional<Zxid> more = page.value().more_after) {
    SYNOD_ASSERT(*more > replay.after);
    replay.after = *more;
    output_.notify_drained.push_back(id);
    return;
  }
  end_replay(id, protocol::ok_status());
}

// Sends the replay's answer (`status` when it failed: the watch is removed),
// unless the request timed out meanwhile, then what waited behind it.
// Leaves the connection's queue for the caller to pump.
void Replica::end_replay(ClientId id, protocol::Status status) {
  auto node = replays_.extract(id);
  SYNOD_ASSERT(!node.empty());
  PagedReplay& replay = node.mapped();
  if (!status.ok()) {
    watches_.remove(id, replay.path, replay.kind);
    replay.answer.status = std::move(status);
  }
  ClientQueue& client = clients_.at(id);
  if (client.turn(applied_) == Turn::read) client.answer_head(std::move(replay.answer));
  if (client.turn(applied_) == Turn::answer) emit(id, client.pop_answer());
  for (protocol::ServerMessage& message : replay.held) emit(id, std::move(message));
  waiting_apply_.insert(id);  // pump_all() goes on with the queue, if the caller does not
}

// A one-shot watch; from a past zxid (set again after a session moved), it
// fires at once, unregistered, when its node changed after that zxid
// (changed_since); the event goes before this answer.
void Replica::set_one_shot_watch(ClientId id, const protocol::SetWatchRequest& q, Response& r) {
  const protocol::Result<protocol::Stat> now = store_.exists(q.path);
  if (now.ok()) r.body = protocol::StatResult{now.value()};
  if (q.from_zxid && *q.from_zxid > Zxid{applied_.value()}) {
    r.status = protocol::error_status(protocol::Error::BAD_ARGUMENTS,
                                      "watch from zxid " + std::to_string(q.from_zxid->value()) +
                                          " is past this server's applied zxid " +
                                          std::to_string(applied_.value()));
    return;
  }
  if (q.from_zxid && !options_.canaries.rewatch_never_fires) {
    auto fired = changed_since(q.kind, q.path.text(), now, *q.from_zxid, Zxid{applied_.value()});
    if (fired) {
      emit(id, protocol::WatchEvent{std::move(*fired), q.path, q.kind});
      return;
    }
  }
  r.status = watches_.add(id, q.path, q.kind);
}

}  // namespace synod::replica
