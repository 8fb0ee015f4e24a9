// Replica: client requests, their order, reads, and watches.
#include <algorithm>
#include <map>
#include <vector>

#include "base/assert.h"
#include "server/replica/replica.h"

namespace synod::replica {

namespace {

protocol::Status error(protocol::Error code, std::string message) {
  return protocol::Status{code, std::move(message)};
}

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};

}  // namespace

void Replica::on_request(ClientId id, protocol::ClientRequest request) {
  Client& client = clients_[id];
  if (client.queue.size() >= options_.pending_per_client_max) {
    emit(id, client,
         protocol::Response{request.request_id,
                            Zxid{applied_.value()},
                            error(protocol::Error::LIMIT_EXCEEDED,
                                  "too many requests outstanding on this connection"),
                            {}});
    return;
  }
  const std::uint64_t rid = request.request_id;
  std::visit(
      Overloaded{
          // A write always acts as the connection's session: the protocol's
          // write requests carry none, so a client cannot write as another.
          [&](protocol::WriteRequest& w) {
            submit_write(id, client, rid,
                         codec::LogCommand{0, client.session, rid,
                                           store::WriteCommand{client.session, std::move(w.fence),
                                                               std::move(w.op)}});
          },
          [&](protocol::MultiRequest& m) {
            submit_write(id, client, rid,
                         codec::LogCommand{0, client.session, rid,
                                           store::MultiCommand{client.session, std::move(m.fence),
                                                               std::move(m.ops)}});
          },
          [&](protocol::CloseSessionRequest&) {
            submit_write(id, client, rid,
                         codec::LogCommand{0, client.session, rid,
                                           store::CloseSessionCommand{client.session}});
          },
          [&](protocol::OpenSessionRequest& open) { open_session(id, client, rid, open); },
          [&](protocol::KeepAliveRequest& body) {
            if (client.session == SessionId{0}) {
              answer_now(id, client, rid, error(protocol::Error::SESSION_EXPIRED, "no session"));
              return;
            }
            // Answered after a read-index round that carries the session to
            // the leader: the answer vouches for the session (safe_until)
            // only once the leader, still leading, has heard of it.
            submit_read(id, client, rid, body, true);
          },
          [&](protocol::SetWatchRequest& body) { submit_read(id, client, rid, body, false); },
          [&](protocol::RemoveWatchRequest& body) { submit_read(id, client, rid, body, false); },
          [&](protocol::SyncRequest& body) { submit_read(id, client, rid, body, true); },
          [&](protocol::CheckFenceRequest& body) { submit_read(id, client, rid, body, true); },
          [&](auto& read) {
            const bool linearizable = read.mode == protocol::ReadMode::linearizable;
            submit_read(id, client, rid, read, linearizable);
          },
      },
      request.body);
  if (client.session != SessionId{0}) note_session_active(client.session);
  drain();
}

void Replica::on_client_gone(ClientId id) {
  watches_.remove_client(id);
  waiting_apply_.erase(id);
  std::erase_if(writes_in_flight_, [&](const auto& kv) { return kv.second.client == id; });
  clients_.erase(id);
}

// A write waits to be proposed until every request before it on the
// connection is a write or answered: a read sent before a write must never
// see it, and reads are served at whatever the replica has applied.
void Replica::submit_write(ClientId id, Client& client, std::uint64_t request_id,
                           codec::LogCommand command) {
  const bool opens = std::holds_alternative<store::OpenSessionCommand>(command.command);
  if (!opens && client.session == SessionId{0}) {
    answer_now(id, client, request_id,
               error(protocol::Error::SESSION_EXPIRED, "open a session before writing"));
    return;
  }
  Pending pending;
  pending.request_id = request_id;
  pending.deadline_ms = now_.monotonic_ms + options_.request_timeout_ms;
  pending.command = std::move(command);
  client.queue.push_back(std::move(pending));
  maybe_propose(id, client);
}

void Replica::maybe_propose(ClientId id, Client& client) {
  while (client.propose_from < client.queue.size()) {
    Pending& p = client.queue[client.propose_from];
    if (p.is_read && !p.response) return;
    if (!p.is_read && p.command && !p.proposed && !p.response) propose_write(id, client, p);
    ++client.propose_from;
  }
}

void Replica::propose_write(ClientId id, Client& /*client*/, Pending& pending) {
  pending.proposed = true;
  codec::LogCommand& command = *pending.command;
  writes_in_flight_[{command.session, command.sequence}] =
      WriteInFlight{id, pending.request_id, snapshots_installed_};
  if (core_->is_leader()) {
    propose_stamped({command});
  } else {
    to_forward_.push_back(ToForward{id, pending.request_id, command});
  }
}

void Replica::submit_read(ClientId id, Client& client, std::uint64_t request_id,
                          protocol::ClientBody body, bool linearizable) {
  Pending pending;
  pending.request_id = request_id;
  pending.is_read = true;
  pending.linearizable = linearizable;
  pending.deadline_ms = now_.monotonic_ms + options_.request_timeout_ms;
  pending.body = std::move(body);
  client.queue.push_back(std::move(pending));
  // The session rides on the round to the leader (a follower's touch).
  if (linearizable && client.session != SessionId{0}) note_session_active(client.session);
  if (linearizable) {
    read_rounds_.add(id, request_id);
    start_read_round();
  }
  pump(id, client);
}

void Replica::open_session(ClientId id, Client& client, std::uint64_t request_id,
                           const protocol::OpenSessionRequest& request) {
  if (request.previous) {
    // Moving a session here: answer (after a read-index round, so the
    // session's existence is current) only once we have applied what the
    // client had seen.
    client.session = *request.previous;
    client.wait_for = std::max(client.wait_for, Slot{request.last_zxid.value()});
    client.last_zxid = std::max(client.last_zxid, request.last_zxid);
    submit_read(id, client, request_id, request, true);
    return;
  }
  const std::int64_t timeout = std::clamp(request.timeout_ms, options_.session_timeout_min_ms,
                                          options_.session_timeout_max_ms);
  // The open is matched to this request by (session 0, nonce): random, so a
  // restarted server never mistakes an old open it replays for a new one.
  const std::uint64_t nonce =
      (std::uint64_t{options_.core.self.value()} << 48) | prng_.range(1, (1ull << 48) - 1);
  submit_write(id, client, request_id,
               codec::LogCommand{0, SessionId{0}, nonce, store::OpenSessionCommand{timeout}});
}

void Replica::answer_now(ClientId id, Client& client, std::uint64_t request_id,
                         protocol::Status status, protocol::ResultBody body) {
  Pending done;
  done.request_id = request_id;
  done.response =
      protocol::Response{request_id, Zxid{applied_.value()}, std::move(status), std::move(body)};
  done.restamp = true;
  client.queue.push_back(std::move(done));
  pump(id, client);
}

void Replica::complete_write(ClientId id, Client& client, std::uint64_t request_id,
                             protocol::Response response, bool restamp) {
  for (Pending& p : client.queue) {
    if (p.is_read || p.request_id != request_id || p.response) continue;
    if (auto* opened = std::get_if<protocol::SessionResult>(&response.body)) {
      client.session = opened->session;
    }
    p.response = std::move(response);
    p.restamp = restamp;
    break;
  }
  pump(id, client);
}

// Sends whatever is ready at the head of the connection's queue, in order,
// then proposes the writes that no longer wait behind a read.
void Replica::pump(ClientId id, Client& client) {
  while (!client.queue.empty()) {
    if (applied_ < client.wait_for) {
      waiting_apply_.insert(id);
      break;
    }
    Pending& head = client.queue.front();
    if (!head.response && head.is_read) {
      if (head.linearizable && !head.read_index) break;
      if (head.read_index && applied_ < *head.read_index) {
        waiting_apply_.insert(id);
        break;
      }
      head.response = evaluate_read(id, client, head);
    }
    if (!head.response) break;
    protocol::Response response = std::move(*head.response);
    // An answer that is not a result of its own (an error before applying,
    // a keep-alive) claims nothing newer than what the connection has seen,
    // so the zxids a connection receives never go back.
    if (head.restamp) response.zxid = client.last_zxid;
    SYNOD_ASSERT(response.zxid >= client.last_zxid);
    client.last_zxid = response.zxid;
    client.queue.pop_front();
    if (client.propose_from > 0) --client.propose_from;
    emit(id, client, std::move(response));
  }
  maybe_propose(id, client);
}

void Replica::pump_all() {
  const std::set<ClientId> waiting = std::move(waiting_apply_);
  waiting_apply_.clear();
  for (const ClientId id : waiting) {
    auto it = clients_.find(id);
    if (it != clients_.end()) pump(id, it->second);
  }
}

void Replica::emit(ClientId id, Client&, protocol::ServerMessage message) {
  output_.to_clients.push_back(ToClient{id, std::move(message)});
}

void Replica::start_read_round() {
  if (!read_rounds_.can_start()) return;
  const std::uint64_t round = read_rounds_.start(now_.monotonic_ms, liveness_.take_touched());
  std::vector<std::uint64_t> sessions;
  sessions.reserve(read_rounds_.carried().size());
  for (const SessionId s : read_rounds_.carried()) sessions.push_back(s.value());
  core_->read_index(round, std::move(sessions));
}

void Replica::on_read_ready(const consensus::ReadReady& ready) {
  RoundEnd end = read_rounds_.finish(ready);
  if (auto* failed = std::get_if<RoundFailed>(&end)) {
    // No leader confirmed it: the next tick asks again (reads time out),
    // with the sessions it carried.
    liveness_.touch_again(failed->sessions);
    return;
  }
  auto* confirmed = std::get_if<RoundConfirmed>(&end);
  if (confirmed == nullptr) return;  // not the round in flight
  // One pass over each member client's queue, however many of its reads
  // rode on the round.
  for (const auto& [id, request_ids] : confirmed->requests) {
    auto it = clients_.find(id);
    if (it == clients_.end()) continue;
    for (Pending& p : it->second.queue) {
      if (p.is_read && !p.read_index &&
          std::binary_search(request_ids.begin(), request_ids.end(), p.request_id)) {
        p.read_index = confirmed->index;
      }
    }
    pump(id, it->second);
  }
  start_read_round();
}

// Deadlines grow along a queue (each is its arrival plus request_timeout_ms),
// so each client's scan stops at the first request still in time.
void Replica::expire_requests() {
  for (auto& [id, client] : clients_) {
    bool expired = false;
    for (Pending& p : client.queue) {
      if (p.response) continue;
      if (p.deadline_ms > now_.monotonic_ms) break;
      const char* why = p.is_read ? "the read timed out; it changed nothing"
                                  : "the write timed out; it may or may not have happened";
      p.response = protocol::Response{
          p.request_id, Zxid{applied_.value()}, error(protocol::Error::TIMEOUT, why), {}};
      p.restamp = true;
      expired = true;
      if (p.command && p.proposed) {
        const auto key = std::pair{p.command->session, p.command->sequence};
        const auto in_flight = writes_in_flight_.find(key);
        if (in_flight != writes_in_flight_.end() && in_flight->second.client == id &&
            in_flight->second.request_id == p.request_id) {
          writes_in_flight_.erase(in_flight);
        }
      }
    }
    if (expired) pump(id, client);
  }
}

protocol::Response Replica::evaluate_read(ClientId id, Client& client, const Pending& pending) {
  protocol::Response r{pending.request_id, Zxid{applied_.value()}, {}, {}};
  // A keep-alive's or a moved session's answer, after its read-index round
  // carried the session to the leader: the session and how long it is safe.
  const auto vouch = [&](SessionId session) {
    if (!store_.session_exists(session)) {
      r.status = error(protocol::Error::SESSION_EXPIRED,
                       "session " + std::to_string(session.value()) + " has expired");
      return false;
    }
    note_session_active(session);
    const std::int64_t timeout = liveness_.timeout_ms(session);
    r.body = protocol::SessionResult{session, timeout, timeout};
    return true;
  };
  std::visit(Overloaded{
                 [&](const protocol::GetRequest& q) {
                   auto got = store_.get(q.path);
                   if (!got.ok()) {
                     r.status = got.status();
                     return;
                   }
                   const store::NodeView& v = got.value();
                   r.body = protocol::DataResult{std::string(v.data), v.stat, v.kind, v.ttl_ms};
                   if (q.watch) r.status = watches_.add(id, q.path, protocol::WatchKind::data);
                 },
                 [&](const protocol::ExistsRequest& q) {
                   auto got = store_.exists(q.path);
                   if (q.watch) {
                     const protocol::Status added =
                         watches_.add(id, q.path, protocol::WatchKind::exists);
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
                 },
                 [&](const protocol::ChildrenRequest& q) {
                   auto page = store_.children(q.path, q.after, q.limit);
                   if (!page.ok()) {
                     r.status = page.status();
                     return;
                   }
                   protocol::ChildrenResult result{page.value().entries, std::nullopt};
                   if (page.value().more && !result.entries.empty()) {
                     result.next_after = result.entries.back().name;
                   }
                   r.body = std::move(result);
                   if (q.watch) r.status = watches_.add(id, q.path, protocol::WatchKind::children);
                 },
                 [&](const protocol::CheckFenceRequest& q) {
                   r.status = store_.check_fence(q.fence);
                   if (r.status.ok()) r.body = protocol::FenceResult{q.fence.token};
                 },
                 [&](const protocol::KeepAliveRequest&) { (void)vouch(client.session); },
                 [&](const protocol::OpenSessionRequest& q) {
                   if (!vouch(*q.previous)) client.session = SessionId{0};
                 },
                 [&](const protocol::SetWatchRequest& q) {
                   const protocol::WatchKind kind = q.kind;
                   if (!q.from_zxid) {
                     r.status = watches_.add(id, q.path, kind);
                     return;
                   }
                   auto replay =
                       watches_.add_from(id, q.path, kind, *q.from_zxid, Zxid{applied_.value()});
                   if (!replay.ok()) {
                     r.status = replay.status();
                     return;
                   }
                   for (Notification& n : replay.value()) {
                     emit(id, client, protocol::WatchEvent{std::move(n.event), q.path, q.kind});
                   }
                 },
                 [&](const protocol::RemoveWatchRequest& q) {
                   watches_.remove(id, q.path, q.kind);
                 },
                 [&](const auto&) {},  // sync: only the zxid matters
             },
             pending.body);
  return r;
}

protocol::Response Replica::write_response(std::uint64_t request_id, Zxid zxid,
                                           const store::ApplyResult& result,
                                           const store::Command& command) const {
  const store::Response& applied = result.response;
  protocol::Response r{request_id, zxid, applied.status, {}};
  if (std::holds_alternative<store::MultiCommand>(command)) {
    r.body = protocol::MultiResult{applied.ops};
  } else if (std::holds_alternative<store::OpenSessionCommand>(command)) {
    if (applied.status.ok()) {
      const std::int64_t timeout = std::get<store::OpenSessionCommand>(command).timeout_ms;
      r.body = protocol::SessionResult{applied.session, timeout, timeout};
    }
  } else if (const auto* write = std::get_if<store::WriteCommand>(&command)) {
    if (applied.status.ok() && !applied.ops.empty() && applied.ops.front().stat) {
      const protocol::OpResult& op = applied.ops.front();
      if (std::holds_alternative<protocol::CreateOp>(write->op)) {
        r.body = protocol::CreateResult{op.path, *op.stat};
      } else if (std::holds_alternative<protocol::SetOp>(write->op)) {
        r.body = protocol::StatResult{*op.stat};
      }
    }
  }
  return r;
}

}  // namespace synod::replica
