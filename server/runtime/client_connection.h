// Internal to server/runtime: one client connection (runtime.h).
//
// Contract:
//   - Two coroutines (STYLE.md habit 5): reader() decodes frames into
//     requests for the replica; writer() sends, with one gathered write,
//     what deliver() queued. deliver() only encodes, pushes onto the bounded
//     FrameQueue (client_queue_frames_max, client_queue_bytes_max) and wakes
//     the writer.
//   - The bytes a client sends are trusted for nothing. A frame over
//     protocol::frame_bytes_max, or one that does not verify, closes the
//     connection with a logged reason and is counted
//     (client_frames_rejected); a request that verified but is invalid is
//     answered with its error at once, since the replica never sees it.
//   - A client that lets its queue overflow is too slow: the connection is
//     closed and counted (client_connections_slow). Every change to the
//     bytes queued is reported to the server (Server::note_client_queued),
//     which keeps all clients together under client_queued_bytes_budget by
//     closing the connection that holds the most.
//   - A third coroutine, watchdog(), closes the connection for idleness as
//     ClientIdle (client_idle.h) decides, with a logged reason, counted
//     (client_connections_handshake_timeout, client_connections_idle_timeout).
//     One timer per connection: no tick walks every connection. The socket
//     runs with TCP keepalive (client_keepalive_*), so a half-open
//     connection fails and closes.
//   - close() runs once; after it deliver() does nothing. Unless quiet, the
//     replica hears of the close later, as a fresh input (never from inside
//     a drain). An exception stops at a coroutine's top and closes this one
//     connection.
#pragma once

#include <asio.hpp>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>

#include "protocol/codec.h"
#include "server/replica/replica.h"
#include "server/runtime/client_idle.h"
#include "server/runtime/frame_queue.h"
#include "server/runtime/runtime.h"
#include "server/runtime/socket_io.h"

namespace synod::runtime {

class Server;

static_assert(client_queue_frames_max >= 2 * replica::ReplicaOptions{}.pending_per_client_max,
              "a client with every pending request answered, and as many watch events, fits");
static_assert(client_queue_frames_max >= replica::watch_replay_page_events_default +
                                             replica::large_entry_events +
                                             2 * replica::ReplicaOptions{}.pending_per_client_max,
              "a watch replay's page (one entry may pass it), then its answer with the "
              "messages held behind it and every pending answer, fits");

class ClientConnection : public std::enable_shared_from_this<ClientConnection> {
 public:
  // `server` outlives the connection; `id` is unique among this server's.
  ClientConnection(Server& server, replica::ClientId id, tcp::socket socket);
  void start();
  void deliver(const protocol::ServerMessage& message);
  // Once the writer has sent everything queued, tell the replica
  // (Server::on_client_drained), once, as a fresh input.
  void notify_when_drained() { notify_drained_ = true; }
  // Closes the socket; unless `quiet`, tells the replica (later, not from
  // inside a drain). `reason` empty: an orderly close, not logged.
  void close(const std::string& reason, bool quiet = false);
  // Bytes waiting to be sent to this client.
  [[nodiscard]] std::size_t queued_bytes() const { return queue_.bytes(); }
  [[nodiscard]] const std::string& name() const { return name_; }

 private:
  awaitable<void> reader();
  awaitable<void> writer();
  awaitable<void> watchdog();
  void handle_frame(std::string bytes);

  Server& server_;
  replica::ClientId id_;
  tcp::socket socket_;
  std::string name_;
  asio::steady_timer wake_;
  asio::steady_timer idle_timer_;
  ClientIdle idle_;
  FrameQueue queue_{client_queue_frames_max, client_queue_bytes_max};
  bool spawned_ = false;  // start() ran
  bool closed_ = false;
  bool notify_drained_ = false;  // notify_when_drained() since the last drain
  // Requests waiting for their answer, oldest first: for the answers and
  // commit latency metrics. At most client_queue_frames_max (asserted);
  // requests beyond it are answered but not timed.
  struct Started {
    std::uint64_t request_id = 0;
    std::size_t type = 0;  // index into request_type_names
    std::int64_t ms = 0;   // arrival, on the monotonic clock
  };
  std::deque<Started> started_;
};

}  // namespace synod::runtime
