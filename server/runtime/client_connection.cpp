// One client connection (client_connection.h).
#include "server/runtime/client_connection.h"

#include <algorithm>
#include <chrono>
#include <exception>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "base/assert.h"
#include "protocol/limits.h"
#include "server/runtime/clock.h"
#include "server/runtime/metrics.h"
#include "server/runtime/server.h"

namespace synod::runtime {

ClientConnection::ClientConnection(Server& server, replica::ClientId id, tcp::socket socket)
    : server_(server),
      id_(id),
      socket_(std::move(socket)),
      name_(endpoint_name(socket_)),
      wake_(server.io()),
      idle_timer_(server.io()),
      idle_(ClientIdleOptions{server.options().handshake_timeout_ms,
                              server.options().client_idle_timeout_ms},
            monotonic_ms()) {}

namespace {

// TCP keepalive (runtime.h, client_keepalive_*): a half-open connection fails.
void keep_alive(tcp::socket& socket) {
  asio::error_code ignored;
  socket.set_option(asio::socket_base::keep_alive(true), ignored);
  const int fd = socket.native_handle();
  const int idle = client_keepalive_idle_s;
  const int interval = client_keepalive_interval_s;
  const int probes = client_keepalive_probes;
  (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
  (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
  (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &probes, sizeof probes);
}

}  // namespace

void ClientConnection::start() {
  SYNOD_ASSERT_MSG(!spawned_, "a connection's reader and writer start once");
  spawned_ = true;
  asio::error_code ignored;
  socket_.set_option(tcp::no_delay(true), ignored);
  keep_alive(socket_);
  auto self = shared_from_this();
  asio::co_spawn(server_.io(), [self] { return self->reader(); }, asio::detached);
  asio::co_spawn(server_.io(), [self] { return self->writer(); }, asio::detached);
  asio::co_spawn(
      server_.io(), [self] { return self->watchdog(); }, asio::detached);
}

void ClientConnection::deliver(const protocol::ServerMessage& message) {
  if (closed_) return;
  std::string payload;
  if (const auto* response = std::get_if<protocol::Response>(&message)) {
    // Answers come in request order, so a request is almost always the
    // oldest one held.
    const auto started =
        std::find_if(started_.begin(), started_.end(),
                     [&](const Started& r) { return r.request_id == response->request_id; });
    if (started != started_.end()) {
      SYNOD_ASSERT(started->type < request_type_names.size());
      Metrics& metrics = server_.metrics();
      const auto result = static_cast<std::size_t>(response->status.error);
      if (result < result_kinds) ++metrics.answered[started->type][result];
      if (started->type == request_type_write) {
        metrics.commit_latency.observe(static_cast<double>(monotonic_ms() - started->ms) /
                                       1000.0);
      }
      started_.erase(started);
    }
    payload = protocol::encode_response(*response);
  } else if (const auto* watch = std::get_if<protocol::WatchEvent>(&message)) {
    payload = protocol::encode_watch_event(*watch);
  } else {
    payload = protocol::encode_session_event(std::get<protocol::SessionEvent>(message));
  }
  SYNOD_ASSERT_MSG(payload.size() <= protocol::frame_bytes_max,
                   "encode_response answers TOO_LARGE instead; an event holds bounded paths");
  const std::size_t before = queue_.bytes();
  if (!queue_.push(std::move(payload))) {
    ++server_.metrics().client_connections_slow;
    close("its send queue is full (" + std::to_string(queue_.frames()) + " frames, " +
          std::to_string(queue_.bytes()) + " bytes): the client reads too slowly");
    return;
  }
  wake_.cancel_one();
  server_.note_client_queued(static_cast<std::ptrdiff_t>(queue_.bytes() - before));
}

void ClientConnection::close(const std::string& reason, bool quiet) {
  if (closed_) return;
  closed_ = true;
  if (!reason.empty()) server_.log("closing client connection from " + name_ + ": " + reason);
  asio::error_code ignored;
  socket_.close(ignored);
  wake_.cancel();
  idle_timer_.cancel();
  server_.note_client_queued(-static_cast<std::ptrdiff_t>(queue_.bytes()));
  queue_.clear();
  if (quiet) return;
  // Not from inside a drain: the replica hears of it as a fresh input.
  asio::post(server_.io(),
             [self = shared_from_this()] { self->server_.on_client_gone(self->id_); });
}

awaitable<void> ClientConnection::reader() {
  try {
    FrameReader frames;
    while (!closed_) {
      FrameRead next = co_await read_frame(socket_, frames);
      if (!next.refused.empty()) {
        ++server_.metrics().client_frames_rejected;
        close(next.refused);
        co_return;
      }
      if (!next.frame) {
        const auto ec = next.error;
        close(ec == asio::error::eof || ec == asio::error::operation_aborted ? "" : ec.message());
        co_return;
      }
      if (closed_ || server_.stopping()) co_return;
      idle_.on_frame(monotonic_ms());
      handle_frame(std::move(*next.frame));
    }
  } catch (const std::exception& e) {
    close(std::string("an error: ") + e.what());
  }
}

void ClientConnection::handle_frame(std::string bytes) {
  auto decoded = protocol::decode_client(bytes);
  Metrics& metrics = server_.metrics();
  if (decoded.ok()) {
    protocol::ClientRequest& request = decoded.value();
    const std::size_t type = request_type_of(request.body);
    ++metrics.requests[type];
    if (started_.size() < client_queue_frames_max) {
      started_.push_back(Started{request.request_id, type, monotonic_ms()});
    }
    SYNOD_ASSERT(started_.size() <= client_queue_frames_max);
    server_.on_client_request(id_, std::move(request));
    return;
  }
  // A frame that verified but is invalid is answered with its error at once.
  // The replica never saw it, so the answer may overtake responses to
  // earlier requests still pending on this connection; clients match by id.
  if (const auto request_id = protocol::request_id_of(bytes)) {
    const auto result = static_cast<std::size_t>(decoded.status().error);
    SYNOD_ASSERT_MSG(result < result_kinds, "the decoder's errors are protocol::Error values");
    ++metrics.requests[request_type_invalid];
    ++metrics.answered[request_type_invalid][result];
    deliver(protocol::Response{*request_id, Zxid{}, decoded.status(), {}});
    return;
  }
  ++metrics.client_frames_rejected;
  close("frame of " + std::to_string(bytes.size()) +
        " bytes is unreadable: " + decoded.status().message);
}

awaitable<void> ClientConnection::writer() {
  try {
    std::vector<Frame> batch;
    while (!closed_) {
      const std::size_t before = queue_.bytes();
      queue_.pop_batch(batch, write_batch_bytes_max);
      server_.note_client_queued(-static_cast<std::ptrdiff_t>(before - queue_.bytes()));
      if (batch.empty()) {
        if (notify_drained_) {
          notify_drained_ = false;
          asio::post(server_.io(),
                     [self = shared_from_this()] { self->server_.on_client_drained(self->id_); });
        }
        wake_.expires_at(asio::steady_timer::time_point::max());
        co_await wake_.async_wait(use_tuple);
        continue;
      }
      if (auto ec = co_await write_frames(socket_, batch)) {
        close(ec == asio::error::operation_aborted ? "" : ec.message());
        co_return;
      }
    }
  } catch (const std::exception& e) {
    close(std::string("an error: ") + e.what());
  }
}

// Sleeps until ClientIdle's next look, then asks whether a live session is
// bound (the replica knows); closes the connection when ClientIdle says so.
awaitable<void> ClientConnection::watchdog() {
  try {
    while (!closed_ && !server_.stopping()) {
      const ClientIdle::Verdict verdict =
          idle_.check(monotonic_ms(), server_.client_has_session(id_));
      if (verdict.close != ClientIdle::Close::no) {
        Metrics& metrics = server_.metrics();
        ++(verdict.close == ClientIdle::Close::handshake
               ? metrics.client_connections_handshake_timeout
               : metrics.client_connections_idle_timeout);
        close(verdict.reason);
        co_return;
      }
      idle_timer_.expires_at(Clock::time_point(std::chrono::milliseconds(verdict.next_check_ms)));
      co_await idle_timer_.async_wait(use_tuple);
    }
  } catch (const std::exception& e) {
    close(std::string("an error: ") + e.what());
  }
}

}  // namespace synod::runtime
