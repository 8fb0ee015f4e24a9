// Internal to server/runtime: the three listening sockets of synodd and
// their accept loops (runtime.h).
//
// Contract:
//   - peers: each inbound connection gets one reader and no writer; it
//     carries messages to us only (our messages to that peer go out on our
//     own PeerLink). A frame over protocol::frame_bytes_max, one that does not
//     decode, or a message not addressed to us (or claiming to be from us)
//     closes that connection with a logged reason and is counted
//     (peer_frames_rejected); it is network input, never asserted. At most
//     peer_inbound_connections_max at once; one more is closed on accept with
//     a logged reason. Once a connection's first frame names its sender, an
//     older connection from that sender is closed (the peer redialled). Each
//     runs with watch_peer_silence (peer_link.h): a peer silent past
//     peer_silence_ms is logged and its connection closed. A link heartbeat
//     (codec::decode_link_heartbeat) is checked like a message and counted;
//     every frame accepted tells the server it heard from its sender
//     (Server::heard_from, for peer_silence.h).
//   - clients: up to RuntimeOptions::client_connections_max at once; one more is closed on
//     accept with a logged reason. Each accepted socket becomes a
//     ClientConnection owned by the Server (Server::attach_client).
//   - admin: up to admin_connections_max at once, more are closed on accept;
//     one request head of at most admin_request_bytes_max bytes within
//     admin_request_timeout_ms, one answer (admin.h), then close.
//   - An accept that fails is logged (peers, clients) and the loop goes on;
//     stop_accepting() ends the loops. An exception escaping a loop reaches
//     the handler Server::run spawned it with.
#pragma once

#include <asio.hpp>

#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/ids.h"
#include "consensus/message.h"

#include "server/runtime/runtime.h"
#include "server/runtime/socket_io.h"

namespace synod::runtime {

class Server;

class Listeners {
 public:
  // `server` outlives the listeners.
  explicit Listeners(Server& server);

  // Opens, binds and listens on the three endpoints, in this order, logging
  // each; false, after logging why, at the first that fails.
  [[nodiscard]] bool listen(const tcp::endpoint& peers, const tcp::endpoint& clients,
                            const tcp::endpoint& admin);

  // The accept loops, for Server::run to spawn once listen() succeeded.
  awaitable<void> accept_peers();
  awaitable<void> accept_clients();
  awaitable<void> accept_admin();

  // Closes the three acceptors (the loops end), then, separately, the
  // inbound peer connections (their readers end).
  void stop_accepting();
  void close_inbound_peers();

 private:
  [[nodiscard]] bool listen_one(tcp::acceptor& acceptor, const tcp::endpoint& at,
                                std::string_view what);
  awaitable<void> read_peer(std::shared_ptr<tcp::socket> socket);
  // One inbound peer frame: its sender and message (none: a link
  // heartbeat), or why its connection closes.
  struct PeerFrame {
    NodeId from = no_node;
    std::optional<consensus::Message> message;
    std::string refused;
  };
  [[nodiscard]] PeerFrame check_peer_frame(const std::string& bytes) const;
  // Records that `socket` carries `sender`'s messages, closing any older
  // connection from it.
  void identify(const std::shared_ptr<tcp::socket>& socket, NodeId sender, const std::string& name);
  awaitable<void> serve_admin(tcp::socket socket);
  awaitable<void> pause_if_out_of_descriptors(const asio::error_code& ec);

  Server& server_;
  tcp::acceptor peer_acceptor_;
  tcp::acceptor client_acceptor_;
  tcp::acceptor admin_acceptor_;
  // Every inbound peer connection, with its sender once its first frame
  // named it (no_node before).
  std::map<std::shared_ptr<tcp::socket>, NodeId> inbound_peers_;
  std::size_t admin_connections_ = 0;
};

}  // namespace synod::runtime
