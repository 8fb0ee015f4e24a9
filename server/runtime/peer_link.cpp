// One outbound peer link (peer_link.h).
#include "server/runtime/peer_link.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
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
#include "server/codec/peer.h"
#include "server/runtime/clock.h"
#include "server/runtime/server.h"

namespace synod::runtime {

asio::error_code watch_peer_silence(tcp::socket& socket, std::int64_t silence_ms) {
  SYNOD_ASSERT(silence_ms >= 1);
  asio::error_code ec;
  socket.set_option(asio::socket_base::keep_alive(true), ec);
  if (ec) return ec;
  const int idle_s = static_cast<int>(std::max<std::int64_t>(1, silence_ms / 2000));
  const int interval_s = idle_s;
  const int probes = 3;
  const auto user_timeout_ms = static_cast<unsigned>(silence_ms);
  const int fd = socket.native_handle();
  if (setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle_s, sizeof idle_s) != 0 ||
      setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval_s, sizeof interval_s) != 0 ||
      setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &probes, sizeof probes) != 0 ||
      setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout_ms, sizeof user_timeout_ms) !=
          0) {
    return {errno, asio::system_category()};
  }
  return {};
}

bool closed_for_silence(const asio::error_code& ec) { return ec == asio::error::timed_out; }

PeerLink::PeerLink(Server& server, NodeId peer, tcp::endpoint remote, tcp::endpoint local)
    : server_(server),
      peer_(peer),
      remote_(remote),
      local_(local),
      wake_(server.io()),
      watch_timer_(server.io()),
      silence_(peer_dead_ms(server.options()), peer_heartbeat_ms(server.options())) {
  SYNOD_ASSERT_MSG(peer != no_node && peer.value() <= node_id_max, "a link's peer is a node id");
  SYNOD_ASSERT_MSG(peer != server.self(), "a server has no link to itself");
}

void PeerLink::start() {
  SYNOD_ASSERT_MSG(!started_, "a link is started once");
  started_ = true;
  asio::co_spawn(server_.io(), [self = shared_from_this()] { return self->run(); },
                 asio::detached);
}

// The consensus core keeps every message within
// consensus::peer_frame_bytes_max (consensus/limits.h), which the codec ties
// to the receiver's protocol::frame_bytes_max. A frame over it could only
// come from a log entry written before that bound (an old data dir): it is
// dropped here, counted and logged, rather than sent to a peer that would
// close the link on it every time.
void PeerLink::deliver(std::string frame) {
  if (frame.size() > protocol::frame_bytes_max) {
    ++server_.metrics().peer_messages_dropped;
    server_.log("dropped a " + std::to_string(frame.size()) + "-byte message to node " +
                std::to_string(peer_.value()) + ": over protocol::frame_bytes_max");
    return;
  }
  if (!connected_ || !queue_.push(std::move(frame))) {
    ++server_.metrics().peer_messages_dropped;
    return;
  }
  ++server_.metrics().peer_messages_sent;
  wake_.cancel_one();
}

void PeerLink::stop() {
  stopped_ = true;
  asio::error_code ignored;
  if (socket_) socket_->close(ignored);
  wake_.cancel();
  watch_timer_.cancel();
}

void PeerLink::heard() {
  silence_.heard(monotonic_ms());
  if (!silent_reported_) return;
  silent_reported_ = false;
  server_.log("heard from node " + std::to_string(peer_.value()) + " again after its silence");
}

awaitable<void> PeerLink::run() {
  const std::string who = "node " + std::to_string(peer_.value()) + " at " +
                          remote_.address().to_string() + ":" + std::to_string(remote_.port());
  std::int64_t backoff_ms = peer_backoff_ms_min;
  bool reported_down = false;
  while (!stopped_) {
    std::string reason;
    bool was_connected = false;
    try {
      auto socket = std::make_shared<tcp::socket>(server_.io());
      socket_ = socket;
      socket->open(remote_.protocol());
      socket->set_option(tcp::socket::reuse_address(true));
      socket->bind(local_);
      auto [ec] = co_await socket->async_connect(remote_, use_tuple);
      if (!ec) ec = watch_peer_silence(*socket, peer_silence_ms(server_.options()));
      if (ec) {
        reason = ec.message();
      } else {
        socket->set_option(tcp::no_delay(true));
        if (!silent_reported_) server_.log("connected to " + who);
        connected_ = true;
        was_connected = true;
        reported_down = false;
        backoff_ms = peer_backoff_ms_min;
        read_error_ = {};
        dead_ = false;
        silence_.connected(monotonic_ms());
        ++server_.metrics().peer_links_connected;
        asio::co_spawn(server_.io(), reader(socket), asio::detached);
        asio::co_spawn(server_.io(), watchdog(socket), asio::detached);
        reason = lost_because(co_await writer(socket));
      }
    } catch (const std::exception& e) {
      reason = e.what();
    }
    if (connected_) --server_.metrics().peer_links_connected;
    connected_ = false;
    watch_timer_.cancel();
    queue_.clear();
    if (socket_) {
      asio::error_code ignored;
      socket_->close(ignored);
      socket_.reset();
    }
    if (stopped_) co_return;
    if (was_connected) {
      report_loss(who, reason);
    } else if (!reported_down) {
      server_.log("cannot reach " + who + ": " + reason + "; retrying with backoff up to " +
                  std::to_string(peer_backoff_ms_max) + " ms");
      reported_down = true;
    }
    wake_.expires_after(std::chrono::milliseconds(backoff_ms));
    co_await wake_.async_wait(use_tuple);
    backoff_ms = std::min(backoff_ms * 2, peer_backoff_ms_max);
  }
}

// The peer sends nothing on our outbound connection; reading only notices
// that it closed, so the writer stops at once instead of at the next write.
awaitable<void> PeerLink::reader(std::shared_ptr<tcp::socket> socket) {
  std::array<char, 64> sink{};
  asio::error_code failed;
  while (!failed) {
    auto [ec, n] = co_await socket->async_read_some(asio::buffer(sink), use_tuple);
    failed = ec;
  }
  asio::error_code ignored;
  socket->close(ignored);
  if (socket_ != socket) co_return;
  read_error_ = failed;
  wake_.cancel();
}

void PeerLink::report_loss(const std::string& who, const std::string& reason) {
  if (!dead_) {
    server_.log("lost the connection to " + who + ": " + reason + "; reconnecting");
    return;
  }
  ++server_.metrics().peer_links_dead;
  if (silent_reported_) return;
  silent_reported_ = true;
  server_.log("lost the connection to " + who + ": " + reason +
              "; reconnecting (not logged again until it is heard from)");
}

// Between the link's writes: heartbeats when idle, and the close once the
// peer has been silent for peer_dead_ms (PeerSilence decides).
awaitable<void> PeerLink::watchdog(std::shared_ptr<tcp::socket> socket) {
  while (!stopped_ && socket_ == socket && socket->is_open()) {
    const PeerSilence::Verdict verdict = silence_.check(monotonic_ms());
    if (verdict.step == PeerSilence::Step::dead) {
      dead_ = true;
      asio::error_code ignored;
      socket->close(ignored);  // a write stuck on a full window ends too
      wake_.cancel();
      co_return;
    }
    if (verdict.step == PeerSilence::Step::heartbeat) queue_heartbeat();
    watch_timer_.expires_at(Clock::time_point(std::chrono::milliseconds(verdict.next_check_ms)));
    co_await watch_timer_.async_wait(use_tuple);
  }
}

void PeerLink::queue_heartbeat() {
  const std::string frame = codec::encode_link_heartbeat(
      codec::LinkHeartbeat{server_.self(), peer_, server_.options().cluster_id});
  if (queue_.frames() > 0 || !queue_.push(frame)) return;  // frames waiting say enough
  ++server_.metrics().peer_heartbeats_sent;
  wake_.cancel_one();
}

std::string PeerLink::dead_sentence() const {
  return "node " + std::to_string(peer_.value()) + " sent nothing for " +
         std::to_string(silence_.dead_ms()) + " ms (peer_dead_ms, " +
         std::to_string(peer_dead_elections) +
         " silence bounds): its process is stopped or wedged, or it is cut off";
}

// The writer's reason, unless the reader saw why first.
std::string PeerLink::lost_because(std::string writer_reason) const {
  if (dead_) return dead_sentence();
  if (closed_for_silence(read_error_)) return silence_sentence();
  if (read_error_ && read_error_ != asio::error::eof && writer_reason == "the connection closed") {
    return read_error_.message();
  }
  return writer_reason;
}

std::string PeerLink::silence_sentence() const {
  return "node " + std::to_string(peer_.value()) + " acknowledged nothing for " +
         std::to_string(peer_silence_ms(server_.options())) +
         " ms (TCP keepalive, TCP_USER_TIMEOUT): it is down or cut off";
}

// Writes queued frames until the socket fails or closes; returns why.
awaitable<std::string> PeerLink::writer(std::shared_ptr<tcp::socket> socket) {
  SYNOD_ASSERT_MSG(connected_ && socket == socket_, "one writer, for the current connection");
  std::vector<Frame> batch;
  while (!stopped_ && socket->is_open()) {
    queue_.pop_batch(batch, write_batch_bytes_max);
    if (batch.empty()) {
      wake_.expires_at(asio::steady_timer::time_point::max());
      co_await wake_.async_wait(use_tuple);
      continue;
    }
    if (auto ec = co_await write_frames(*socket, batch)) {
      co_return closed_for_silence(ec) ? silence_sentence() : ec.message();
    }
    silence_.sent(monotonic_ms());
  }
  co_return std::string("the connection closed");
}

}  // namespace synod::runtime
