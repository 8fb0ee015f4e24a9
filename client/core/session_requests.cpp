// SessionCore (session_core.h): submitting, sending, answering and failing
// requests, in order.
#include <algorithm>
#include <limits>
#include <utility>

#include "base/assert.h"
#include "client/core/session_core.h"

namespace synod::client {
namespace {

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};

}  // namespace

std::optional<SessionCore::Kind> SessionCore::kind_of(const protocol::ClientBody& body) {
  if (std::holds_alternative<protocol::WriteRequest>(body) ||
      std::holds_alternative<protocol::MultiRequest>(body)) {
    return Kind::write;
  }
  if (std::holds_alternative<protocol::CloseSessionRequest>(body) ||  // close() closes
      std::holds_alternative<protocol::OpenSessionRequest>(body) ||
      std::holds_alternative<protocol::KeepAliveRequest>(body)) {
    return std::nullopt;  // the core's own
  }
  return Kind::read;
}

RequestId SessionCore::submit(std::int64_t now_ms, protocol::ClientBody body,
                              std::optional<std::int64_t> timeout_ms) {
  const RequestId id{++next_request_id_};
  const std::optional<Kind> kind = kind_of(body);
  const std::int64_t span_ms = std::min(timeout_ms.value_or(options_.request_timeout_ms),
                                        options_.request_timeout_ms);
  Request request{id, kind.value_or(Kind::read), std::move(body), now_ms + span_ms, 0, 0, false};
  if (!kind) {
    complete_now(request, protocol::Error::BAD_ARGUMENTS,
                 "submit takes writes, multis, reads, sync, check_fence and watch requests; "
                 "the core opens, keeps alive and (through close()) closes the session");
  } else if (const auto* w = std::get_if<protocol::SetWatchRequest>(&request.body);
             w != nullptr && w->from_zxid && is_one_shot(w->kind)) {
    complete_now(request, protocol::Error::BAD_ARGUMENTS,
                 "from_zxid is for persistent and persistent_recursive watches; the core sets "
                 "one-shot watches again itself when the session moves");
  } else if (span_ms <= 0) {
    complete_now(request, protocol::Error::BAD_ARGUMENTS,
                 "timeout_ms must be positive, not " + std::to_string(span_ms));
  } else if (phase_ == Phase::expired) {
    complete_now(request, protocol::Error::SESSION_EXPIRED, "the session has expired");
  } else if (phase_ == Phase::closed || closing_) {
    complete_now(request, protocol::Error::SESSION_EXPIRED, "the session is closed or closing");
  } else if (waiting_.size() >= options_.waiting_max) {
    complete_now(request, protocol::Error::LIMIT_EXCEEDED,
                 "waiting_max (" + std::to_string(options_.waiting_max) +
                     ") requests already wait to be sent");
  } else {
    waiting_.push_back(std::move(request));
    flush(now_ms);
  }
  return id;
}

RequestId SessionCore::close(std::int64_t now_ms) {
  const RequestId id{++next_request_id_};
  Request request{
      id, Kind::close, protocol::CloseSessionRequest{}, now_ms + options_.request_timeout_ms, 0,
      0,  false};
  if (phase_ == Phase::expired || phase_ == Phase::closed || closing_) {
    complete_now(request, protocol::Error::SESSION_EXPIRED, "the session is already over");
    return id;
  }
  closing_ = true;
  if (session_ == SessionId{0}) {
    // Never opened (or the open is still unanswered: a session the server
    // may have made then expires on its own).
    complete(request, protocol::Response{0, last_zxid_, protocol::ok_status(), {}});
    end_session(Phase::closed, "closed before a session was opened");
    return id;
  }
  waiting_.push_back(std::move(request));  // after everything submitted before
  flush(now_ms);
  return id;
}

// Sends what waits, in order, while the connection has room.
void SessionCore::flush(std::int64_t now_ms) {
  while (phase_ == Phase::connected && !waiting_.empty() &&
         in_flight_.size() < options_.outstanding_max) {
    Request request = std::move(waiting_.front());
    waiting_.pop_front();
    if (now_ms >= request.deadline_ms) {
      complete_now(request, protocol::Error::TIMEOUT, "the deadline passed before it was sent");
      continue;
    }
    const Request copy_for_failure{request.id, request.kind, {}, 0, 0, 0, false};
    if (!send(now_ms, std::move(request))) {
      complete_now(copy_for_failure, protocol::Error::TOO_LARGE,
                   "the request's frame exceeds frame_bytes_max");
    }
  }
}

// false (nothing sent) when the frame would exceed frame_bytes_max.
bool SessionCore::send(std::int64_t now_ms, Request request) {
  const std::uint64_t wire_id = next_wire_id_ + 1;
  std::string bytes = protocol::encode_client(protocol::ClientRequest{wire_id, request.body});
  if (bytes.size() > protocol::frame_bytes_max) return false;
  next_wire_id_ = wire_id;
  request.wire_id = wire_id;
  request.sent_ms = now_ms;
  // A sent write is never sent again, so its (perhaps large) body goes; a
  // read keeps its body to be re-sent after a reconnect.
  if (request.kind == Kind::write) request.body = protocol::ClientBody{};
  if (request.kind == Kind::keep_alive || request.kind == Kind::open) last_vouch_sent_ms_ = now_ms;
  actions_.emplace_back(Send{std::move(bytes)});
  in_flight_.push_back(std::move(request));
  return true;
}

void SessionCore::on_frame(std::int64_t now_ms, std::string_view bytes) {
  if (phase_ != Phase::opening && phase_ != Phase::connected) {
    note("a frame arrived with no open connection; ignored");
    return;
  }
  auto decoded = protocol::decode_server(bytes);
  if (!decoded.ok()) {
    connection_failed(now_ms, "server " + std::to_string(server_) + " sent a malformed frame (" +
                                  decoded.status().message + ")");
    return;
  }
  last_receive_ms_ = now_ms;
  std::visit(Overloaded{[&](protocol::Response& r) { on_response(now_ms, std::move(r)); },
                        [&](protocol::WatchEvent& e) { on_watch_event(std::move(e)); },
                        [&](protocol::SessionEvent& e) { on_session_event(now_ms, e); }},
             decoded.value());
}

// Answers arrive in send order (DESIGN.md, Wire protocol); anything else is
// a broken server or connection, so the connection is given up.
void SessionCore::on_response(std::int64_t now_ms, protocol::Response response) {
  if (in_flight_.empty() || in_flight_.front().wire_id != response.request_id) {
    const std::string expected =
        in_flight_.empty() ? "none" : std::to_string(in_flight_.front().wire_id);
    connection_failed(now_ms, "server " + std::to_string(server_) + " answered request " +
                                  std::to_string(response.request_id) + " out of order (expected " +
                                  expected + ")");
    return;
  }
  Request request = std::move(in_flight_.front());
  in_flight_.pop_front();
  see_zxid(response.zxid);
  if (request.kind == Kind::open) {
    on_open_answer(now_ms, request, std::move(response));
    return;
  }
  extend_safe_until(request, response);
  if (request.kind == Kind::keep_alive) keep_alive_in_flight_ = false;
  const bool expired = response.status.error == protocol::Error::SESSION_EXPIRED;
  // This connection lost the session to another: move it back here or on.
  const bool moved = response.status.error == protocol::Error::SESSION_MOVED;
  const std::string moved_why = moved ? response.status.message : std::string();
  if (request.kind == Kind::read) watches_.on_answer(request.body, response);
  if (request.kind == Kind::rewatch && !expired) on_rewatch_answer(request, response);
  const bool user = request.id != RequestId{0} && !request.abandoned;
  if (user) complete(request, std::move(response));
  if (expired) {
    end_session(Phase::expired, "server " + std::to_string(server_) + " says the session expired");
    return;
  }
  if (moved) {
    connection_failed(now_ms, "server " + std::to_string(server_) + " says the session moved: " +
                                  moved_why);
    return;
  }
  if (request.kind == Kind::close) {
    end_session(Phase::closed, "the session was closed");
    return;
  }
  flush(now_ms);
}

void SessionCore::expire_requests(std::int64_t now_ms) {
  bool close_timed_out = false;
  // Waiting requests were never sent: a timeout is a definite failure.
  std::deque<Request> still;
  for (Request& r : waiting_) {
    if (now_ms >= r.deadline_ms) {
      close_timed_out = close_timed_out || r.kind == Kind::close;
      complete_now(r, protocol::Error::TIMEOUT, "the deadline passed before it could be sent");
    } else {
      still.push_back(std::move(r));
    }
  }
  waiting_ = std::move(still);
  // Sent ones stay in line (the server will still answer them, in order);
  // their answers are dropped.
  for (Request& r : in_flight_) {
    if (r.id == RequestId{0} || r.abandoned || now_ms < r.deadline_ms) continue;
    r.abandoned = true;
    close_timed_out = close_timed_out || r.kind == Kind::close;
    complete_now(r, protocol::Error::TIMEOUT, "no answer before the request's deadline");
  }
  // The session is then left to expire on its own.
  if (close_timed_out) end_session(Phase::closed, "the close was not answered in time");
}

bool SessionCore::requeue_in_flight() {
  bool close_lost = false;
  std::deque<Request> resend;
  for (Request& r : in_flight_) {
    if (r.id == RequestId{0} || r.abandoned) continue;  // the core's own, or completed
    if (r.kind == Kind::read) {
      resend.push_back(std::move(r));
      continue;
    }
    close_lost = close_lost || r.kind == Kind::close;
    complete_now(r, protocol::Error::CONNECTION_LOSS,
                 "the connection broke after the request was sent; it may have been applied");
  }
  in_flight_.clear();
  // Reads were submitted before anything still waiting, so they go first.
  for (auto it = resend.rbegin(); it != resend.rend(); ++it) waiting_.push_front(std::move(*it));
  return close_lost;
}

void SessionCore::fail_all(protocol::Error error, const std::string& why) {
  for (const Request& r : in_flight_) {
    if (r.id != RequestId{0} && !r.abandoned) complete_now(r, error, why);
  }
  in_flight_.clear();
  for (const Request& r : waiting_) {
    if (r.id != RequestId{0}) complete_now(r, error, why + " (never sent)");
  }
  waiting_.clear();
}

void SessionCore::complete(const Request& request, protocol::Response response) {
  const Outcome outcome = outcome_of(request.kind, response.status);
  events_.emplace_back(Completed{request.id, std::move(response), outcome});
}

// An answer the core makes itself. A request never sent certainly did not
// happen, whatever the error; a sent write might have.
void SessionCore::complete_now(const Request& request, protocol::Error error, std::string why) {
  protocol::Response response{
      request.wire_id, Zxid{}, protocol::error_status(error, std::move(why)), {}};
  Outcome outcome = Outcome::failed;
  const bool sent_write = request.wire_id != 0 &&
                          (request.kind == Kind::write || request.kind == Kind::close);
  if (sent_write) outcome = Outcome::unknown;
  events_.emplace_back(Completed{request.id, std::move(response), outcome});
}

Outcome SessionCore::outcome_of(Kind kind, const protocol::Status& status) {
  if (status.ok()) return Outcome::ok;
  const bool write = kind == Kind::write || kind == Kind::close;
  const bool indeterminate =
      status.error == protocol::Error::TIMEOUT || status.error == protocol::Error::CONNECTION_LOSS;
  return write && indeterminate ? Outcome::unknown : Outcome::failed;
}

void SessionCore::see_zxid(Zxid zxid) { last_zxid_ = std::max(last_zxid_, zxid); }

void SessionCore::on_watch_event(protocol::WatchEvent event) {
  see_zxid(event.event.zxid);
  watches_.on_event(event.event);
  events_.emplace_back(WatchFired{std::move(event)});
}

// Rewatches left from an earlier move (never sent) are replaced, so each
// watch goes once; they wait for no deadline (the set is the truth, and a
// connection lost meanwhile means another move and another round).
// A move before the last move's rewatches were all answered sets them again
// as of that move's zxid, not a later one: the open answered on the
// connection in between raised last_zxid past changes whose events the
// watches never had.
void SessionCore::queue_rewatches(Zxid since) {
  if (rewatch_since_) since = std::min(since, *rewatch_since_);
  std::erase_if(waiting_, [](const Request& r) { return r.kind == Kind::rewatch; });
  const std::vector<protocol::SetWatchRequest> again = watches_.rewatch(since);
  for (auto it = again.rbegin(); it != again.rend(); ++it) {
    waiting_.push_front(Request{RequestId{0}, Kind::rewatch, *it,
                                std::numeric_limits<std::int64_t>::max(), 0, 0, false});
  }
  rewatch_since_.reset();
  if (!again.empty()) {
    rewatch_since_ = since;
    note("setting " + std::to_string(again.size()) + " watch(es) again on server " +
         std::to_string(server_) + " as of zxid " + std::to_string(since.value()));
  }
}

// A refused rewatch (COMPACTED, or any other refusal) ends that watch: its
// watcher is told with a compacted event.
void SessionCore::on_rewatch_answer(const Request& request, const protocol::Response& response) {
  const auto rewatch = [](const Request& r) { return r.kind == Kind::rewatch; };
  if (std::none_of(waiting_.begin(), waiting_.end(), rewatch) &&
      std::none_of(in_flight_.begin(), in_flight_.end(), rewatch)) {
    rewatch_since_.reset();  // every watch is set again here
  }
  if (response.status.ok()) return;
  const auto& q = std::get<protocol::SetWatchRequest>(request.body);
  note("server " + std::to_string(server_) + " refused to set the " + q.path.text() +
       " watch again (" + std::string(protocol::error_name(response.status.error)) + ": " +
       response.status.message + "); its watcher is told it was compacted");
  for (auto& event : watches_.refused(q, q.from_zxid.value_or(last_zxid_))) {
    events_.emplace_back(WatchFired{std::move(event)});
  }
}

}  // namespace synod::client
