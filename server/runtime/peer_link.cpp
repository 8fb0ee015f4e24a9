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

#include "base/assert.h"
#include "server/runtime/server.h"

namespace synod::runtime {

PeerLink::PeerLink(Server& server, NodeId peer, tcp::endpoint remote, tcp::endpoint local)
    : server_(server), peer_(peer), remote_(remote), local_(local), wake_(server.io()) {
  SYNOD_ASSERT_MSG(peer != no_node && peer.value() <= node_id_max, "a link's peer is a node id");
  SYNOD_ASSERT_MSG(peer != server.self(), "a server has no link to itself");
}

void PeerLink::start() {
  SYNOD_ASSERT_MSG(!started_, "a link is started once");
  started_ = true;
  asio::co_spawn(server_.io(), [self = shared_from_this()] { return self->run(); },
                 asio::detached);
}

// Not asserted against protocol::frame_bytes_max, unlike a client frame: the
// consensus core does not bound every message by bytes (a Promise carries
// every slot from the Prepare's start; an Accept is accept_bytes_max plus one
// entry), so an oversized frame is reachable. The peer refuses it and counts
// it (peer_frames_rejected); bounding it is the consensus core's to do.
void PeerLink::deliver(std::string frame) {
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
      if (ec) {
        reason = ec.message();
      } else {
        socket->set_option(tcp::no_delay(true));
        server_.log("connected to " + who);
        connected_ = true;
        was_connected = true;
        reported_down = false;
        backoff_ms = peer_backoff_ms_min;
        asio::co_spawn(server_.io(), reader(socket), asio::detached);
        reason = co_await writer(socket);
      }
    } catch (const std::exception& e) {
      reason = e.what();
    }
    connected_ = false;
    queue_.clear();
    if (socket_) {
      asio::error_code ignored;
      socket_->close(ignored);
      socket_.reset();
    }
    if (stopped_) co_return;
    if (was_connected) {
      server_.log("lost the connection to " + who + ": " + reason + "; reconnecting");
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
  for (;;) {
    auto [ec, n] = co_await socket->async_read_some(asio::buffer(sink), use_tuple);
    if (ec) break;
  }
  asio::error_code ignored;
  socket->close(ignored);
  if (socket_ == socket) wake_.cancel();
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
    if (auto ec = co_await write_frames(*socket, batch)) co_return ec.message();
  }
  co_return std::string("the connection closed");
}

}  // namespace synod::runtime
