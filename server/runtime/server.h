// Internal to server/runtime: synodd's event loop, the Server behind run()
// (runtime.h holds its contract: one io_context thread owns the Replica,
// every input is followed by a drain, persist -> send -> apply is the
// replica's, sync is group-committed on its own thread).
//
// What Server keeps to itself: the Replica, the tick timer, the signal set,
// the fsync thread, the Listeners, and the maps of peer links and client
// connections the drain routes output to. PeerLink, ClientConnection and
// Listeners call back into it through the inputs below, all on the
// io_context thread.
#pragma once

#include <asio.hpp>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "base/ids.h"
#include "base/prng.h"
#include "protocol/codec.h"
#include "server/replica/replica.h"
#include "server/runtime/listeners.h"
#include "server/runtime/metrics.h"
#include "server/runtime/runtime.h"
#include "server/runtime/socket_io.h"
#include "server/wal/disk.h"

namespace synod::runtime {

class PeerLink;
class ClientConnection;

class Server {
 public:
  // `options` (validated) and `disk` (the locked data dir) outlive the Server.
  Server(const RuntimeOptions& options, wal::Disk& disk);

  // runtime::run's body: resolve, recover, listen, serve until stopped.
  int run();

  // Inputs, each followed by a drain. Ignored once stopping.
  void on_peer_message(NodeId from, const consensus::Message& message);
  void on_client_request(replica::ClientId client, protocol::ClientRequest request);
  void on_client_gone(replica::ClientId client);
  // The connection sent all it held, as the replica asked (a paged watch
  // replay's next page).
  void on_client_drained(replica::ClientId client);

  // An accepted client socket becomes a ClientConnection under a fresh id.
  void attach_client(tcp::socket socket);
  [[nodiscard]] std::size_t client_count() const { return clients_.size(); }
  // Whether a live session is bound to connection `client` (client_idle.h).
  [[nodiscard]] bool client_has_session(replica::ClientId client) const;
  // A frame (a message or a link heartbeat) arrived from `peer`, on any
  // connection: its outbound link hears of it (peer_silence.h).
  void heard_from(NodeId peer);
  // A connection's queued bytes changed by `delta`; over
  // client_queued_bytes_budget in all, the connection holding the most is
  // closed (after the current delivery, from a fresh handler).
  void note_client_queued(std::ptrdiff_t delta);
  // The admin page for one request head (admin_answer in admin.h).
  [[nodiscard]] std::string admin_answer(std::string_view head) const;

  // One line on stderr: a UTC stamp, this node, `text`.
  void log(std::string_view text) const;
  [[nodiscard]] Metrics& metrics() { return metrics_; }
  [[nodiscard]] NodeId self() const { return options_.id; }
  [[nodiscard]] const RuntimeOptions& options() const { return options_; }
  [[nodiscard]] asio::io_context& io() { return io_; }
  [[nodiscard]] bool stopping() const { return stopping_; }

 private:
  [[nodiscard]] bool resolve(const Address& address, tcp::endpoint& out, std::string_view what);
  void after_input();
  void drain();
  void maybe_schedule_sync();
  void start_sync();
  void finish_sync(const replica::Replica::SyncTicket& ticket, const wal::Status& ran,
                   double seconds, std::uint64_t inputs);
  void start_snapshot(std::unique_ptr<replica::SnapshotJob> job);
  void stop(int exit_code);

  awaitable<void> ticker();

  const RuntimeOptions& options_;
  wal::Disk& disk_;
  base::Prng prng_;
  // Declared before everything that holds sockets or timers, so it is
  // destroyed after them.
  asio::io_context io_{1};
  // The fsync thread: runs one SyncJob at a time and posts its result back
  // to io_. Declared after io_, so it is joined before io_ goes away.
  asio::thread_pool fsync_thread_{1};
  // The snapshot thread: writes one snapshot at a time (Replica's
  // SnapshotJob: the log tail's fdatasync, the file, its fsyncs), so neither
  // the event loop nor the WAL's group commit waits for it.
  asio::thread_pool snapshot_thread_{1};
  std::unique_ptr<replica::Replica> replica_;
  asio::steady_timer tick_timer_;
  asio::signal_set signals_;
  Listeners listeners_;
  std::map<NodeId, std::shared_ptr<PeerLink>> links_;
  std::map<replica::ClientId, std::shared_ptr<ClientConnection>> clients_;
  std::size_t client_queued_bytes_ = 0;  // over every connection in clients_
  bool trimming_posted_ = false;
  void trim_client_queues();
  std::uint64_t next_client_id_ = 1;
  Metrics metrics_;
  std::uint64_t inputs_since_sync_ = 0;
  bool sync_scheduled_ = false;
  bool sync_running_ = false;
  bool drain_scheduled_ = false;
  bool stopping_ = false;
  int exit_code_ = 0;
};

}  // namespace synod::runtime
