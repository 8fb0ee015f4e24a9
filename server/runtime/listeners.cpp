// The listening sockets and their accept loops (listeners.h).
#include "server/runtime/listeners.h"

#include <asio/experimental/awaitable_operators.hpp>

#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>

#include "base/assert.h"
#include "server/codec/peer.h"
#include "server/runtime/admin.h"
#include "server/runtime/peer_link.h"
#include "server/runtime/server.h"

namespace synod::runtime {

using namespace asio::experimental::awaitable_operators;

Listeners::Listeners(Server& server)
    : server_(server),
      peer_acceptor_(server.io()),
      client_acceptor_(server.io()),
      admin_acceptor_(server.io()) {}

bool Listeners::listen(const tcp::endpoint& peers, const tcp::endpoint& clients,
                       const tcp::endpoint& admin) {
  SYNOD_ASSERT_MSG(!peer_acceptor_.is_open(), "the listeners listen once");
  return listen_one(peer_acceptor_, peers, "peers") &&
         listen_one(client_acceptor_, clients, "clients") &&
         listen_one(admin_acceptor_, admin, "admin HTTP");
}

void Listeners::stop_accepting() {
  asio::error_code ignored;
  for (auto* acceptor : {&peer_acceptor_, &client_acceptor_, &admin_acceptor_}) {
    acceptor->close(ignored);
  }
}

void Listeners::close_inbound_peers() {
  asio::error_code ignored;
  for (const auto& [socket, sender] : inbound_peers_) socket->close(ignored);
}

bool Listeners::listen_one(tcp::acceptor& acceptor, const tcp::endpoint& at,
                           std::string_view what) {
  asio::error_code ec;
  acceptor.open(at.protocol(), ec);
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(at, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    server_.log("cannot listen for " + std::string(what) + " on " + at.address().to_string() +
                ":" + std::to_string(at.port()) + ": " + ec.message() +
                "; is another server using that address?");
    return false;
  }
  server_.log("listening for " + std::string(what) + " on " + at.address().to_string() + ":" +
              std::to_string(at.port()));
  return true;
}

awaitable<void> Listeners::accept_peers() {
  SYNOD_ASSERT_MSG(peer_acceptor_.is_open(), "spawned only after listen() succeeded");
  while (!server_.stopping()) {
    auto [ec, socket] = co_await peer_acceptor_.async_accept(use_tuple);
    if (ec) {
      if (server_.stopping()) co_return;
      server_.log("accepting a peer connection failed: " + ec.message());
      continue;
    }
    if (inbound_peers_.size() >= peer_inbound_connections_max) {
      server_.log("refusing a peer connection from " + endpoint_name(socket) + ": already " +
                  std::to_string(inbound_peers_.size()) +
                  " inbound peer connections (peer_inbound_connections_max)");
      continue;  // the socket closes as it goes out of scope
    }
    if (const auto failed = watch_peer_silence(socket, peer_silence_ms(server_.options()))) {
      server_.log("refusing a peer connection from " + endpoint_name(socket) +
                  ": cannot set TCP keepalive: " + failed.message());
      continue;
    }
    auto shared = std::make_shared<tcp::socket>(std::move(socket));
    inbound_peers_.emplace(shared, no_node);
    asio::co_spawn(server_.io(), read_peer(shared), asio::detached);
  }
}

// An inbound peer connection carries messages to us only; it needs no writer.
awaitable<void> Listeners::read_peer(std::shared_ptr<tcp::socket> socket) {
  SYNOD_ASSERT(inbound_peers_.contains(socket));
  const std::string name = endpoint_name(*socket);
  std::string reason;
  NodeId sender = no_node;
  bool silent = false;
  try {
    FrameReader frames;
    for (;;) {
      FrameRead next = co_await read_frame(*socket, frames);
      if (!next.refused.empty()) {
        reason = std::move(next.refused);
        break;
      }
      if (!next.frame) {
        // Closed: the peer restarts or reconnects; or it went silent.
        if (closed_for_silence(next.error)) silent = true;
        break;
      }
      PeerFrame got = check_peer_frame(*next.frame);
      if (!got.refused.empty()) {
        reason = std::move(got.refused);
        break;
      }
      if (sender != got.from) {
        sender = got.from;
        identify(socket, sender, name);
      }
      server_.heard_from(sender);
      if (got.message) {
        server_.on_peer_message(sender, *got.message);
      } else {
        ++server_.metrics().peer_heartbeats_received;
      }
    }
  } catch (const std::exception& e) {
    reason = std::string("an error: ") + e.what();
  }
  if (!reason.empty() && !server_.stopping()) {
    ++server_.metrics().peer_frames_rejected;
    server_.log("closing peer connection from " + name + ": " + reason);
  } else if (silent && !server_.stopping()) {
    server_.log("closing peer connection from " + name + " (" + node_name(sender) +
                "): it acknowledged nothing for " +
                std::to_string(peer_silence_ms(server_.options())) +
                " ms (TCP keepalive, TCP_USER_TIMEOUT)");
  }
  asio::error_code ignored;
  socket->close(ignored);
  inbound_peers_.erase(socket);
}

// A message (or a link heartbeat) that decodes, from another member of
// this ensemble, addressed to us; anything else is refused with a reason.
Listeners::PeerFrame Listeners::check_peer_frame(const std::string& bytes) const {
  std::uint64_t cluster = 0;
  PeerFrame got;
  NodeId to = no_node;
  if (auto addressed = codec::decode_addressed(bytes); addressed.ok()) {
    cluster = addressed.value().cluster;
    got.from = addressed.value().envelope.from;
    to = addressed.value().envelope.to;
    got.message = std::move(addressed.value().envelope.message);
  } else if (const auto heartbeat = codec::decode_link_heartbeat(bytes)) {
    cluster = heartbeat->cluster;
    got.from = heartbeat->from;
    to = heartbeat->to;
  } else {
    got.refused = "frame of " + std::to_string(bytes.size()) +
                  " bytes does not decode: " + addressed.status().message;
    return got;
  }
  const std::uint64_t ours = server_.options().cluster_id;
  const NodeId self = server_.self();
  if (cluster != ours) {
    got.refused = "a frame of ensemble " + std::to_string(cluster) + " arrived at ensemble " +
                  std::to_string(ours) + ": two ensembles never mix traffic";
  } else if (to != self || got.from == self) {
    got.refused = "a message from node " + std::to_string(got.from.value()) +
                  " addressed to node " + std::to_string(to.value()) + " arrived at node " +
                  std::to_string(self.value());
  }
  return got;
}

// EMFILE/ENFILE: the connection waits in the backlog while the listener
// pauses, rather than spinning on a full descriptor table.
awaitable<void> Listeners::pause_if_out_of_descriptors(const asio::error_code& ec) {
  if (ec != asio::error::no_descriptors && ec != asio::error::no_buffer_space) co_return;
  asio::steady_timer pause(server_.io());
  pause.expires_after(std::chrono::milliseconds(accept_pause_ms));
  co_await pause.async_wait(use_tuple);
}

void Listeners::identify(const std::shared_ptr<tcp::socket>& socket, NodeId sender,
                         const std::string& name) {
  server_.log(node_name(sender) + " connected from " + name);
  for (auto& [other, other_sender] : inbound_peers_) {
    if (other == socket || other_sender != sender) continue;
    server_.log("closing the older connection from " + node_name(sender) + " (" +
                endpoint_name(*other) + "): it connected again");
    asio::error_code ignored;
    other->close(ignored);  // its reader ends and erases it
    other_sender = no_node;
  }
  inbound_peers_.at(socket) = sender;
}

awaitable<void> Listeners::accept_clients() {
  SYNOD_ASSERT_MSG(client_acceptor_.is_open(), "spawned only after listen() succeeded");
  while (!server_.stopping()) {
    auto [ec, socket] = co_await client_acceptor_.async_accept(use_tuple);
    if (ec) {
      if (server_.stopping()) co_return;
      server_.log("accepting a client connection failed: " + ec.message());
      co_await pause_if_out_of_descriptors(ec);
      continue;
    }
    const std::size_t max = server_.options().client_connections_max;
    if (server_.client_count() >= max) {
      server_.log("refusing a client connection from " + endpoint_name(socket) + ": already " +
                  std::to_string(server_.client_count()) + " clients (client_connections_max " +
                  std::to_string(max) + ")");
      continue;  // the socket closes as it goes out of scope
    }
    ++server_.metrics().client_connections_accepted;
    server_.attach_client(std::move(socket));
  }
}

awaitable<void> Listeners::accept_admin() {
  SYNOD_ASSERT_MSG(admin_acceptor_.is_open(), "spawned only after listen() succeeded");
  while (!server_.stopping()) {
    auto [ec, socket] = co_await admin_acceptor_.async_accept(use_tuple);
    if (ec) {
      if (server_.stopping()) co_return;
      co_await pause_if_out_of_descriptors(ec);
      continue;
    }
    if (admin_connections_ >= admin_connections_max) continue;  // closed by scope
    ++admin_connections_;
    asio::co_spawn(server_.io(), serve_admin(std::move(socket)),
                   [this](const std::exception_ptr&) { --admin_connections_; });
  }
}

// One request, one response, then close (HTTP/1.1 with Connection: close).
awaitable<void> Listeners::serve_admin(tcp::socket socket) {
  SYNOD_ASSERT(admin_connections_ > 0 && admin_connections_ <= admin_connections_max);
  std::string head;
  asio::steady_timer deadline(server_.io());
  deadline.expires_after(std::chrono::milliseconds(admin_request_timeout_ms));
  auto result = co_await (
      asio::async_read_until(socket, asio::dynamic_buffer(head, admin_request_bytes_max),
                             "\r\n\r\n", use_tuple) ||
      deadline.async_wait(use_tuple));
  if (result.index() != 0) co_return;  // too slow
  const auto [ec, n] = std::get<0>(result);
  std::string response;
  if (ec == asio::error::not_found) {
    response = http_response(431, "Request Header Fields Too Large", "text/plain",
                             "request head exceeds admin_request_bytes_max\n");
  } else if (ec) {
    co_return;
  } else {
    response = server_.admin_answer(std::string_view(head).substr(0, n));
  }
  co_await asio::async_write(socket, asio::buffer(response), use_tuple);
  asio::error_code ignored;
  socket.shutdown(tcp::socket::shutdown_both, ignored);
  socket.close(ignored);
}

}  // namespace synod::runtime
