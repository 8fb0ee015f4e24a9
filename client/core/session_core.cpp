// SessionCore (session_core.h): connections, server switching, the session's
// lifecycle, keep-alives. Requests live in session_requests.cpp.
#include <algorithm>
#include <utility>

#include "base/assert.h"
#include "client/core/session_core.h"

namespace synod::client {

base::CheckStatus ClientOptions::validate() const {
  if (servers.empty()) return base::invalid("servers is empty; give at least one server");
  if (servers.size() > servers_max) return base::invalid("more servers than servers_max");
  if (session_timeout_ms < keep_alive_divisor ||
      session_timeout_ms > protocol::session_timeout_ms_limit) {
    return base::invalid("session_timeout_ms must be in [3, session_timeout_ms_limit]");
  }
  if (request_timeout_ms <= 0) return base::invalid("request_timeout_ms must be positive");
  if (connect_timeout_ms <= 0) return base::invalid("connect_timeout_ms must be positive");
  if (backoff_min_ms <= 0 || backoff_max_ms < backoff_min_ms) {
    return base::invalid("backoff must satisfy 0 < backoff_min_ms <= backoff_max_ms");
  }
  if (outstanding_max == 0 || outstanding_max > outstanding_max_limit) {
    return base::invalid("outstanding_max must be in [1, outstanding_max_limit]");
  }
  if (waiting_max == 0 || waiting_max > waiting_max_limit) {
    return base::invalid("waiting_max must be in [1, waiting_max_limit]");
  }
  return {};
}

SessionCore::SessionCore(ClientOptions options, base::Prng& prng)
    : options_(std::move(options)), prng_(prng) {
  const base::CheckStatus valid = options_.validate();
  SYNOD_ASSERT_MSG(valid.ok(), valid.message.c_str());
}

void SessionCore::start(std::int64_t now_ms) {
  SYNOD_ASSERT_MSG(phase_ == Phase::idle, "start() is called once");
  server_ = static_cast<std::size_t>(prng_.below(options_.servers.size()));
  connect(now_ms);
}

void SessionCore::connect(std::int64_t now_ms) {
  phase_ = Phase::connecting;
  phase_deadline_ms_ = now_ms + options_.connect_timeout_ms;
  actions_.emplace_back(Connect{server_});
  note("connecting to server " + std::to_string(server_) + " (" + options_.servers[server_] + ")");
}

void SessionCore::on_connected(std::int64_t now_ms) {
  if (phase_ != Phase::connecting) {
    note("on_connected ignored: no connection attempt is pending");
    return;
  }
  phase_ = Phase::opening;
  last_receive_ms_ = now_ms;
  send_open(now_ms);
}

// First connection: open a session. Later: move the session here, and the
// server answers nothing before it has applied last_zxid (DESIGN.md, Store).
void SessionCore::send_open(std::int64_t now_ms) {
  protocol::OpenSessionRequest open{options_.session_timeout_ms, std::nullopt, last_zxid_};
  if (session_ != SessionId{0}) {
    open.previous = session_;
    open.secret = secret_;
  }
  Request request{RequestId{0}, Kind::open, open, phase_deadline_ms_, 0, 0, false};
  const bool sent = send(now_ms, std::move(request));
  SYNOD_ASSERT_MSG(sent, "an open-session frame is tiny");
}

void SessionCore::on_disconnected(std::int64_t now_ms) {
  if (phase_ != Phase::connecting && phase_ != Phase::opening && phase_ != Phase::connected) {
    note("on_disconnected ignored: no connection is open");
    return;
  }
  connection_lost(now_ms, "the connection to server " + std::to_string(server_) + " closed");
}

// The core gives the connection up: the owner closes it.
void SessionCore::connection_failed(std::int64_t now_ms, const std::string& why) {
  actions_.emplace_back(Close{});
  connection_lost(now_ms, why);
}

void SessionCore::connection_lost(std::int64_t now_ms, const std::string& why) {
  const bool was_connected = phase_ == Phase::connected;
  keep_alive_in_flight_ = false;
  if (requeue_in_flight()) {
    end_session(Phase::closed, why + " while the close was in flight", false);
    return;
  }
  if (was_connected) session_changed(SessionStatus::disconnected, why);
  ++failures_;
  const std::uint32_t doublings = std::min<std::uint32_t>(failures_, 20);
  const std::int64_t ceiling =
      std::min(options_.backoff_max_ms, options_.backoff_min_ms << doublings);
  const auto delay_ms = static_cast<std::int64_t>(
      prng_.range(static_cast<std::uint64_t>(options_.backoff_min_ms),
                  static_cast<std::uint64_t>(std::max(ceiling, options_.backoff_min_ms))));
  server_ = (server_ + 1) % options_.servers.size();
  phase_ = Phase::backing_off;
  phase_deadline_ms_ = now_ms + delay_ms;
  note(why + "; connecting to server " + std::to_string(server_) + " in " +
       std::to_string(delay_ms) + " ms (attempt " + std::to_string(failures_) + ")");
}

void SessionCore::on_open_answer(std::int64_t now_ms, const Request& open,
                                 protocol::Response response) {
  const auto* result = std::get_if<protocol::SessionResult>(&response.body);
  if (response.status.ok() && result != nullptr && result->timeout_ms > 0 &&
      (session_ == SessionId{0} || result->session == session_) &&
      result->session != SessionId{0}) {
    const bool first = session_ == SessionId{0};
    session_ = result->session;
    if (first) secret_ = result->secret;
    timeout_ms_ = result->timeout_ms;
    phase_ = Phase::connected;
    failures_ = 0;
    extend_safe_until(open, response);
    session_changed(first ? SessionStatus::connected : SessionStatus::moved,
                    "session " + std::to_string(session_.value()) + " on server " +
                        std::to_string(server_) + " with timeout " +
                        std::to_string(timeout_ms_) + " ms");
    // As of the zxid the open carried, not the answer's: the new server may
    // have applied changes whose events the old connection never delivered.
    if (!first) queue_rewatches(std::get<protocol::OpenSessionRequest>(open.body).last_zxid);
    flush(now_ms);
    return;
  }
  if (session_ != SessionId{0} && response.status.error == protocol::Error::SESSION_EXPIRED) {
    end_session(Phase::expired, "server " + std::to_string(server_) +
                                    " says the session expired: " + response.status.message);
    return;
  }
  connection_failed(now_ms, "server " + std::to_string(server_) + " did not attach the session (" +
                                std::string(protocol::error_name(response.status.error)) + ": " +
                                response.status.message + ")");
}

void SessionCore::on_session_event(std::int64_t now_ms, const protocol::SessionEvent& event) {
  if (event.session != session_) {
    note("a session event for session " + std::to_string(event.session.value()) +
         " is not ours; ignored");
    return;
  }
  switch (event.state) {
    case protocol::SessionState::expired:
      end_session(Phase::expired, "the session expired: " + event.message);
      return;
    case protocol::SessionState::closed:
      end_session(Phase::closed, "the server closed the session: " + event.message);
      return;
    case protocol::SessionState::moved:
      connection_failed(now_ms, "the session moved away from server " + std::to_string(server_) +
                                    ": " + event.message);
      return;
    case protocol::SessionState::connected: return;
  }
  note("a session event with an unknown state; ignored");
}

// Final: every request still held fails, the connection closes, no reconnects.
void SessionCore::end_session(Phase final_phase, const std::string& why, bool close_connection) {
  SYNOD_ASSERT(final_phase == Phase::expired || final_phase == Phase::closed);
  const bool had_connection =
      phase_ == Phase::connecting || phase_ == Phase::opening || phase_ == Phase::connected;
  phase_ = final_phase;
  watches_.clear();
  if (had_connection && close_connection) actions_.emplace_back(Close{});
  keep_alive_in_flight_ = false;
  fail_all(final_phase == Phase::expired ? protocol::Error::SESSION_EXPIRED
                                         : protocol::Error::CONNECTION_LOSS,
           why);
  session_changed(final_phase == Phase::expired ? SessionStatus::expired : SessionStatus::closed,
                  why);
}

void SessionCore::on_tick(std::int64_t now_ms) {
  switch (phase_) {
    case Phase::idle:
    case Phase::expired:
    case Phase::closed: return;
    case Phase::backing_off:
      if (now_ms >= phase_deadline_ms_) connect(now_ms);
      break;
    case Phase::connecting:
    case Phase::opening:
      if (now_ms >= phase_deadline_ms_) {
        connection_failed(now_ms, "server " + std::to_string(server_) +
                                      " did not attach the session within connect_timeout_ms (" +
                                      std::to_string(options_.connect_timeout_ms) + " ms)");
      }
      break;
    case Phase::connected:
      maybe_give_up_silent(now_ms);
      maybe_keep_alive(now_ms);
      break;
  }
  expire_requests(now_ms);
}

void SessionCore::maybe_give_up_silent(std::int64_t now_ms) {
  if (in_flight_.empty()) return;
  const std::int64_t since = std::max(last_receive_ms_, in_flight_.front().sent_ms);
  const std::int64_t limit = timeout_ms_ * silence_num / silence_den;
  if (now_ms - since < limit) return;
  connection_failed(now_ms, "server " + std::to_string(server_) + " has been silent for " +
                                std::to_string(now_ms - since) + " ms with requests outstanding");
}

void SessionCore::maybe_keep_alive(std::int64_t now_ms) {
  if (phase_ != Phase::connected || keep_alive_in_flight_) return;
  if (now_ms - last_vouch_sent_ms_ < timeout_ms_ / keep_alive_divisor) return;
  keep_alive_in_flight_ = true;
  Request ping{
      RequestId{0}, Kind::keep_alive, protocol::KeepAliveRequest{}, now_ms + timeout_ms_, 0, 0,
      false};
  const bool sent = send(now_ms, std::move(ping));
  SYNOD_ASSERT_MSG(sent, "a keep-alive frame is tiny");
}

// Only a session answer (to a keep-alive or an open) vouches for the
// session: the server sends one only after the leader heard of the session
// in a round that proved it still leads. Any other answer may come from a
// follower cut off from the leader, which is expiring the session meanwhile.
void SessionCore::extend_safe_until(const Request& request, const protocol::Response& response) {
  if (!response.status.ok() || timeout_ms_ <= 0) return;
  const auto* result = std::get_if<protocol::SessionResult>(&response.body);
  if (result == nullptr) return;
  const std::int64_t span = std::min(timeout_ms_, result->safe_for_ms);
  safe_until_ms_ = std::max(safe_until_ms_, request.sent_ms + span);
}

void SessionCore::session_changed(SessionStatus status, std::string why) {
  note(why);
  events_.emplace_back(SessionChanged{status, session_, server_, std::move(why)});
}

std::optional<std::int64_t> SessionCore::next_wakeup_ms() const {
  std::optional<std::int64_t> at;
  const auto earliest = [&at](std::int64_t t) { at = at ? std::min(*at, t) : t; };
  switch (phase_) {
    case Phase::idle:
    case Phase::expired:
    case Phase::closed: return std::nullopt;
    case Phase::backing_off:
    case Phase::connecting:
    case Phase::opening: earliest(phase_deadline_ms_); break;
    case Phase::connected:
      if (!keep_alive_in_flight_) earliest(last_vouch_sent_ms_ + timeout_ms_ / keep_alive_divisor);
      if (!in_flight_.empty()) {
        earliest(std::max(last_receive_ms_, in_flight_.front().sent_ms) +
                 timeout_ms_ * silence_num / silence_den);
      }
      break;
  }
  for (const Request& r : waiting_) earliest(r.deadline_ms);
  for (const Request& r : in_flight_) {
    if (r.id != RequestId{0} && !r.abandoned) earliest(r.deadline_ms);
  }
  return at;
}

std::vector<Action> SessionCore::take_actions() { return std::exchange(actions_, {}); }
std::vector<Event> SessionCore::take_events() { return std::exchange(events_, {}); }
std::vector<std::string> SessionCore::take_notes() { return std::exchange(notes_, {}); }

}  // namespace synod::client
