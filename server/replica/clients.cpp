// Replica: client requests and their order on each connection (the queue
// itself is ClientQueue, client_queue.h), read-index rounds, and timeouts.
#include <algorithm>
#include <vector>

#include "base/assert.h"
#include "base/overloaded.h"
#include "server/replica/admission.h"
#include "server/replica/replica.h"

namespace synod::replica {

namespace {

protocol::Status error(protocol::Error code, std::string message) {
  return protocol::Status{code, std::move(message)};
}

using base::Overloaded;

// A connection without a session: SESSION_MOVED when its session moved to
// another connection (ZooKeeper's answer there), else SESSION_EXPIRED.
protocol::Status no_session(const ClientQueue& client, std::string why) {
  if (client.moved_away()) {
    return error(protocol::Error::SESSION_MOVED,
                 "the session moved to another connection; " + std::move(why));
  }
  return error(protocol::Error::SESSION_EXPIRED, std::move(why));
}

}  // namespace

void Replica::on_request(ClientId id, protocol::ClientRequest request) {
  ClientQueue& client =
      clients_.try_emplace(id, options_.pending_per_client_max, options_.request_timeout_ms)
          .first->second;
  if (client.full()) {
    emit(id, protocol::Response{request.request_id,
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
                         codec::LogCommand{0, client.session(), rid,
                                           store::WriteCommand{client.session(), std::move(w.fence),
                                                               std::move(w.op)}});
          },
          [&](protocol::MultiRequest& m) {
            submit_write(id, client, rid,
                         codec::LogCommand{0, client.session(), rid,
                                           store::MultiCommand{client.session(), std::move(m.fence),
                                                               std::move(m.ops)}});
          },
          [&](protocol::CloseSessionRequest&) {
            submit_write(id, client, rid,
                         codec::LogCommand{0, client.session(), rid,
                                           store::CloseSessionCommand{client.session()}});
          },
          [&](protocol::OpenSessionRequest& open) { open_session(id, client, rid, open); },
          [&](protocol::KeepAliveRequest& body) {
            if (client.session() == SessionId{0}) {
              answer_now(id, client, rid, no_session(client, "no session"));
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
  note_request_deadline(id);
  if (client.session() != SessionId{0}) note_session_active(client.session());
  drain();
}

void Replica::note_request_deadline(ClientId id) {
  const std::int64_t deadline = now_.monotonic_ms + options_.request_timeout_ms;
  if (!request_deadlines_.empty() && request_deadlines_.back() == std::pair{deadline, id}) return;
  request_deadlines_.emplace_back(deadline, id);
}

void Replica::rebind(ClientId id, SessionId before, const ClientQueue& client) {
  if (before == client.session()) return;
  if (before != SessionId{0}) session_clients_.erase({before, id});
  if (client.session() != SessionId{0}) session_clients_.insert({client.session(), id});
}

SessionId Replica::client_session(ClientId client) const {
  const auto it = clients_.find(client);
  if (it == clients_.end()) return SessionId{0};
  // A closed session stays bound to the connection that closed it.
  const SessionId session = it->second.session();
  return store_.session_exists(session) ? session : SessionId{0};
}

void Replica::on_client_gone(ClientId id) {
  if (auto it = clients_.find(id); it != clients_.end()) {
    session_clients_.erase({it->second.session(), id});
  }
  watches_.remove_client(id);
  replays_.erase(id);
  waiting_apply_.erase(id);
  std::erase_if(writes_in_flight_, [&](const auto& kv) { return kv.second.client == id; });
  clients_.erase(id);
}

// A write waits to be proposed until every request before it on the
// connection is a write or answered (ClientQueue::take_proposable()).
void Replica::submit_write(ClientId id, ClientQueue& client, std::uint64_t request_id,
                           codec::LogCommand command) {
  const bool opens = std::holds_alternative<store::OpenSessionCommand>(command.command);
  if (!opens && client.session() == SessionId{0}) {
    answer_now(id, client, request_id, no_session(client, "open a session before writing"));
    return;
  }
  // Before anything is proposed or forwarded (admission.h).
  if (auto admitted = admit_write(command, options_.store); !admitted.ok()) {
    answer_now(id, client, request_id, std::move(admitted));
    return;
  }
  if (!core_) {  // the disk failed: read-only
    answer_now(id, client, request_id, read_only_status());
    return;
  }
  client.push_write(request_id, now_.monotonic_ms, std::move(command));
  maybe_propose(id, client);
}

void Replica::maybe_propose(ClientId id, ClientQueue& client) {
  for (ProposableWrite& write : client.take_proposable()) {
    propose_write(id, write.request_id, std::move(write.command));
  }
}

void Replica::propose_write(ClientId id, std::uint64_t request_id, codec::LogCommand command) {
  writes_in_flight_[{command.session, command.sequence}] =
      WriteInFlight{id, request_id, snapshots_installed_};
  if (leading()) {
    std::vector<codec::LogCommand> one;
    one.push_back(std::move(command));
    propose_stamped(std::move(one));
  } else {
    to_forward_.push_back(ToForward{id, request_id, std::move(command)});
  }
}

namespace {

// The session a read's answer vouches for (safe_until): a keep-alive's, or a
// moved session's; 0 for any other read.
SessionId vouched_session(const ClientQueue& client, const protocol::ClientBody& body) {
  if (std::holds_alternative<protocol::KeepAliveRequest>(body)) return client.session();
  if (const auto* open = std::get_if<protocol::OpenSessionRequest>(&body); open && open->previous) {
    return *open->previous;
  }
  return SessionId{0};
}

// A keep-alive's answer may wait for the next tick's round (read_rounds.h);
// everything else that needs a round starts one at once.
Urgency urgency_of(const protocol::ClientBody& body) {
  return std::holds_alternative<protocol::KeepAliveRequest>(body) ? Urgency::by_tick : Urgency::now;
}

}  // namespace

void Replica::submit_read(ClientId id, ClientQueue& client, std::uint64_t request_id,
                          protocol::ClientBody body, bool linearizable) {
  const SessionId vouch = vouched_session(client, body);
  const Urgency urgency = urgency_of(body);
  client.push_read(request_id, now_.monotonic_ms, std::move(body), linearizable);
  // The session rides on the round to the leader (a follower's touch).
  if (linearizable && client.session() != SessionId{0}) note_session_active(client.session());
  if (linearizable) {
    read_rounds_.add(id, request_id, vouch, urgency);
    start_read_round();
  }
  pump(id, client);
}

void Replica::open_session(ClientId id, ClientQueue& client, std::uint64_t request_id,
                           const protocol::OpenSessionRequest& request) {
  if (request.previous) {
    // Ids never repeat and a secret never changes: a session this replica
    // knows under another secret is refused at once, unbound and untouched.
    if (auto known = store_.session_secret(*request.previous);
        known && *known != request.secret) {
      answer_now(id, client, request_id, secret_mismatch(*request.previous));
      return;
    }
    // Moving a session here: answer (after a read-index round, so the
    // session's existence is current) only once we have applied what the
    // client had seen.
    const SessionId before = client.session();
    client.move_session_here(*request.previous, request.last_zxid);
    rebind(id, before, client);
    submit_read(id, client, request_id, request, true);
    return;
  }
  const std::int64_t timeout = std::clamp(request.timeout_ms, options_.session_timeout_ms_min,
                                          options_.session_timeout_ms_max);
  // The open is matched to this request by (session 0, nonce): random, so a
  // restarted server never mistakes an old open it replays for a new one.
  const std::uint64_t nonce =
      (std::uint64_t{options_.core.self.value()} << 48) | prng_.range(1, (1ull << 48) - 1);
  // The secret comes from the same prng: seeded from the OS in synodd,
  // from the seed in the simulator.
  const SessionSecret secret{prng_.next_u64(), prng_.next_u64()};
  submit_write(
      id, client, request_id,
      codec::LogCommand{0, SessionId{0}, nonce, store::OpenSessionCommand{timeout, secret}});
}

void Replica::answer_now(ClientId id, ClientQueue& client, std::uint64_t request_id,
                         protocol::Status status, protocol::ResultBody body) {
  client.push_answer(
      request_id, now_.monotonic_ms,
      protocol::Response{request_id, Zxid{applied_.value()}, std::move(status), std::move(body)});
  pump(id, client);
}

void Replica::complete_write(ClientId id, ClientQueue& client, std::uint64_t request_id,
                             protocol::Response response, bool restamp) {
  const SessionId before = client.session();
  (void)client.answer_write(request_id, std::move(response), restamp);
  rebind(id, before, client);
  pump(id, client);
}

// Sends whatever is ready at the head of the connection's queue, in order,
// then proposes the writes that no longer wait behind a read.
// A paged watch replay holds the queue: its answer, and so every later one,
// leaves after its last page (end_replay).
void Replica::pump(ClientId id, ClientQueue& client) {
  for (;;) {
    if (replays_.contains(id)) break;
    const Turn turn = client.turn(applied_);
    if (turn == Turn::waits_for_apply) waiting_apply_.insert(id);
    if (turn != Turn::read && turn != Turn::answer) break;
    if (turn == Turn::read) {
      protocol::Response answer = evaluate_read(id, client);
      if (auto replay = replays_.find(id); replay != replays_.end()) {
        replay->second.answer = std::move(answer);
        break;
      }
      client.answer_head(std::move(answer));
    }
    emit(id, client.pop_answer());
  }
  maybe_propose(id, client);
}

void Replica::on_client_drained(ClientId id) {
  if (!replays_.contains(id)) return;
  send_replay_page(id);
  if (!replays_.contains(id)) pump(id, clients_.at(id));
  drain();
}

void Replica::pump_all() {
  const std::set<ClientId> waiting = std::move(waiting_apply_);
  waiting_apply_.clear();
  for (const ClientId id : waiting) {
    auto it = clients_.find(id);
    if (it != clients_.end()) pump(id, it->second);
  }
}

// While a paged replay runs, the connection's messages wait behind it, up
// to pending_per_client_max; one more ends the replay, refused.
void Replica::emit(ClientId id, protocol::ServerMessage message) {
  if (auto replay = replays_.find(id); replay != replays_.end()) {
    if (replay->second.held.size() < options_.pending_per_client_max) {
      replay->second.held.push_back(std::move(message));
      return;
    }
    std::string why = "the watch replay on ";
    why += replay->second.path.text();
    why += " stopped at zxid ";
    why += std::to_string(replay->second.after.value());
    why +=
        ": more than pending_per_client_max messages for this connection waited behind it; "
        "watch again from the last zxid you saw";
    end_replay(id, protocol::error_status(protocol::Error::LIMIT_EXCEEDED, std::move(why)));
  }
  output_.to_clients.push_back(ToClient{id, std::move(message)});
}

void Replica::start_read_round(bool tick) {
  if (!core_ || !(tick ? read_rounds_.can_start() : read_rounds_.wants_start())) return;
  const std::uint64_t round = read_rounds_.start(now_.monotonic_ms, liveness_.take_touched());
  std::vector<std::uint64_t> sessions;
  sessions.reserve(read_rounds_.carried().size());
  for (const SessionId s : read_rounds_.carried()) sessions.push_back(s.value());
  core_->read_index(round, std::move(sessions), read_rounds_.vouches());
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
    it->second.assign_read_index(request_ids, confirmed->index);
    pump(id, it->second);
  }
  start_read_round();
}

// Deadlines grow along a queue (each is its arrival plus request_timeout_ms),
// so each due client's scan stops at the first request still in time.
void Replica::expire_requests() {
  std::vector<ClientId> due;
  while (!request_deadlines_.empty() && request_deadlines_.front().first <= now_.monotonic_ms) {
    if (due.empty() || due.back() != request_deadlines_.front().second) {
      due.push_back(request_deadlines_.front().second);
    }
    request_deadlines_.pop_front();
  }
  std::sort(due.begin(), due.end());
  due.erase(std::unique(due.begin(), due.end()), due.end());
  for (const ClientId id : due) {
    auto it = clients_.find(id);
    if (it == clients_.end()) continue;
    ClientQueue& client = it->second;
    const Expiry expiry = client.expire(now_.monotonic_ms, Zxid{applied_.value()});
    for (const ExpiredWrite& write : expiry.proposed) {
      const auto in_flight = writes_in_flight_.find(write.key);
      if (in_flight != writes_in_flight_.end() && in_flight->second.client == id &&
          in_flight->second.request_id == write.request_id) {
        writes_in_flight_.erase(in_flight);
      }
    }
    if (expiry.any) pump(id, client);
  }
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
      const auto& open = std::get<store::OpenSessionCommand>(command);
      r.body =
          protocol::SessionResult{applied.session, open.timeout_ms, open.timeout_ms, open.secret};
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
