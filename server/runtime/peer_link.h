// Internal to server/runtime: one outbound link to a peer (runtime.h).
//
// Contract:
//   - A link connects to its peer, binding to our own peer host so the peer
//     sees where we come from, and retries with exponential backoff in
//     [peer_backoff_ms_min, peer_backoff_ms_max]; it logs the first failure
//     and each loss, not every retry.
//   - deliver() only pushes onto the link's bounded FrameQueue
//     (peer_queue_frames_max, peer_queue_bytes_max) and wakes the writer. A
//     message delivered while the link is down, or that would overflow the
//     queue, is dropped and counted: consensus retransmits
//     (consensus/README.md §3.2). Frames queued when a connection is lost
//     are dropped with it.
//   - The link only writes: the peer sends nothing on our outbound
//     connection (its messages to us arrive on its own outbound link, read
//     by Listeners). Reading only notices that the peer closed.
//   - A dead or silent peer is noticed within about peer_silence_ms
//     (runtime.h): every peer socket, ours and the inbound ones Listeners
//     reads, runs with TCP keepalive and TCP_USER_TIMEOUT
//     (watch_peer_silence), so unacknowledged writes or probes close it; the
//     link logs which peer went silent and redials.
//   - A peer whose process is stopped or wedged still has its kernel
//     acknowledge, so TCP notices nothing; the link's watchdog does
//     (PeerSilence, peer_silence.h): it queues a link heartbeat when the link
//     has sent nothing for peer_heartbeat_ms, and closes the connection once
//     nothing at all was heard from the peer (Server::heard_from, on any
//     connection) for peer_dead_ms, about two election timeouts, counted
//     (peer_links_dead). The link logs which peer sent nothing and redials;
//     while the peer stays silent, later losses are not logged again.
//   - An exception stops at the link's run() and counts as a lost
//     connection; stop() ends the link for good.
#pragma once

#include <asio.hpp>

#include <memory>
#include <string>

#include "base/ids.h"
#include "server/runtime/frame_queue.h"
#include "server/runtime/peer_silence.h"
#include "server/runtime/runtime.h"
#include "server/runtime/socket_io.h"

namespace synod::runtime {

class Server;

static_assert(peer_backoff_ms_min > 0 && peer_backoff_ms_min <= peer_backoff_ms_max);

// Turns on TCP keepalive (first probe after about half of `silence_ms`,
// at least a second) and sets TCP_USER_TIMEOUT to `silence_ms` (>= 1), so the
// kernel closes the connection once sent data or probes go unacknowledged
// that long. An error when the socket refuses an option.
[[nodiscard]] asio::error_code watch_peer_silence(tcp::socket& socket, std::int64_t silence_ms);
// Whether a connection that failed with `ec` was closed for silence.
[[nodiscard]] bool closed_for_silence(const asio::error_code& ec);

class PeerLink : public std::enable_shared_from_this<PeerLink> {
 public:
  // `server` outlives the link; `local` is our peer host with port 0.
  PeerLink(Server& server, NodeId peer, tcp::endpoint remote, tcp::endpoint local);
  void start();
  void deliver(std::string frame);
  void stop();
  // A frame from the peer arrived, on any connection.
  void heard();

 private:
  awaitable<void> run();
  awaitable<void> reader(std::shared_ptr<tcp::socket> socket);
  awaitable<std::string> writer(std::shared_ptr<tcp::socket> socket);
  awaitable<void> watchdog(std::shared_ptr<tcp::socket> socket);
  void queue_heartbeat();
  // Logs a loss, unless it is another silent one since the peer was last heard.
  void report_loss(const std::string& who, const std::string& reason);
  [[nodiscard]] std::string dead_sentence() const;
  [[nodiscard]] std::string lost_because(std::string writer_reason) const;
  [[nodiscard]] std::string silence_sentence() const;

  Server& server_;
  NodeId peer_;
  tcp::endpoint remote_;
  tcp::endpoint local_;
  asio::steady_timer wake_;
  asio::steady_timer watch_timer_;  // the watchdog's
  PeerSilence silence_;
  bool dead_ = false;                    // the watchdog closed the current connection
  bool silent_reported_ = false;         // a dead loss was logged; nothing heard since
  std::shared_ptr<tcp::socket> socket_;  // the current connection, if any
  asio::error_code read_error_;          // why the current connection's reader ended
  FrameQueue queue_{peer_queue_frames_max, peer_queue_bytes_max};
  bool started_ = false;
  bool connected_ = false;
  bool stopped_ = false;
};

}  // namespace synod::runtime
