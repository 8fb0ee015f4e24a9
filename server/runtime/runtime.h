// The runtime: synodd's event loop around one replica::Replica
// (DESIGN.md "Processes"; STYLE.md habit 5).
//
// One io_context thread owns the Replica and everything that touches it:
//   - a steady_timer ticks every tick_ms          -> replica.on_tick
//   - one inbound reader per peer connection      -> replica.on_message
//   - one reader per client connection            -> replica.on_request
//   - a client connection closing                 -> replica.on_client_gone
// After every input the loop drains take_output(): peer messages go to the
// peer links' bounded queues, client frames to the connections' bounded
// queues, notes to the log, and sync_needed schedules one sync for all the
// input of this loop iteration (group commit).
//
// Wire framing, peers and clients alike: a u32 little-endian length, then
// that many bytes (protocol::frame_bytes_max at most) of a FlatBuffers frame
// (encode_envelope for peers, ClientFrame / ServerFrame for clients). A frame
// over the limit or that fails to decode closes that one connection with a
// logged reason; a client request that verified but is invalid is answered
// with its error instead (request_id_of).
//
// Every connection has a reader() and a writer() coroutine; deliver() only
// pushes onto a bounded queue and wakes the writer. An exception stops at the
// coroutine's top and closes that one connection.
//
// The error idiom of the Asio layers (this folder and client/; the
// deterministic layers' is base/status.h):
//   - every socket and timer operation completes through
//     asio::experimental::as_tuple, so an expected I/O failure (a reset, an
//     EOF, a refused connect, a cancelled timer) is an error_code value,
//     handled at the call: it closes that one connection with a logged
//     sentence, or schedules a reconnect with backoff;
//   - input from the network is validated and counted, never asserted: an
//     oversized or unreadable frame closes its connection with a reason;
//   - a failure the process cannot go on from (a disk error from the
//     replica, a port that cannot be bound) ends run() with a sentence;
//   - parsing and checking options return base::CheckStatus/CheckResult,
//     as in the deterministic layers;
//   - an exception is a bug or resource exhaustion: it stops at a
//     connection's top coroutine and closes that connection only.
//
// Where each part lives (all internal to server/runtime but this header and
// posix_disk.h): server.h the event loop; peer_link.h, client_connection.h
// and listeners.h the connections; frame_queue.h, frame_reader.h and
// socket_io.h the framing; metrics.h and admin.h the admin endpoint's
// content; clock.h the clocks.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/ids.h"
#include "base/status.h"
#include "server/replica/replica.h"
#include "server/wal/disk.h"

namespace synod::runtime {

struct Address {
  std::string host;
  std::uint16_t port = 0;
};
[[nodiscard]] std::string to_string(const Address& address);

// "HOST:PORT" (HOST may be "[v6]"), or invalid with a sentence.
[[nodiscard]] base::CheckResult<Address> parse_address(std::string_view text);
// "1=HOST:PORT,2=HOST:PORT,...": ids in [1, node_id_max], each once.
[[nodiscard]] base::CheckResult<std::map<NodeId, Address>> parse_peers(
    std::string_view text);

// Client connections at once by default (RuntimeOptions::
// client_connections_max); more are closed on accept with a logged reason.
inline constexpr std::size_t client_connections_max_default = 10000;
// A client connection with no session bound this long after it was
// accepted is closed (synodd --handshake-timeout-ms; client_idle.h).
inline constexpr std::int64_t handshake_timeout_ms_default = 10000;
// A client connection whose session ended (expired, closed, moved away) and
// that sends nothing this long is closed (synodd --client-idle-timeout-ms).
inline constexpr std::int64_t client_idle_timeout_ms_default = 30000;

struct RuntimeOptions {
  NodeId id{};
  // The members' peer addresses, self included: from the data dir's
  // identity file (identity.h), never from flags once it exists.
  std::map<NodeId, Address> peers;
  std::uint64_t cluster_id = 0;    // the ensemble's id (wal/identity.h), nonzero
  std::vector<std::string> notes;  // sentences to log at start (settling the identity)
  // Client connections served at once; main() lowers it to what
  // RLIMIT_NOFILE allows (raise_descriptor_limit).
  std::size_t client_connections_max = client_connections_max_default;
  // Idle client connections (client_idle.h), both >= 1.
  std::int64_t handshake_timeout_ms = handshake_timeout_ms_default;
  std::int64_t client_idle_timeout_ms = client_idle_timeout_ms_default;
  Address client_addr;
  Address admin_addr;
  std::string data_dir;             // for log lines only; the Disk is passed in
  replica::ReplicaOptions replica;  // replica.core.self == id

  // ok when usable; otherwise invalid, with what is wrong as a sentence.
  [[nodiscard]] base::CheckStatus validate() const;
};

// Limits of the runtime (STYLE.md habit 6).
// Frames queued for one outbound peer link; beyond it new messages are
// dropped and counted (consensus retransmits: README §3.2).
inline constexpr std::size_t peer_queue_frames_max = 4096;
// Bytes queued for one outbound peer link.
inline constexpr std::size_t peer_queue_bytes_max = std::size_t{256} << 20;
// Frames and bytes queued for one client; a client that lets either overflow
// is too slow and its connection is closed.
inline constexpr std::size_t client_queue_frames_max = 16384;
inline constexpr std::size_t client_queue_bytes_max = std::size_t{128} << 20;
// Bytes queued for all clients together. Past it, the connection holding
// the most is closed as too slow, until the total fits again, so many slow
// clients cannot together exhaust memory.
inline constexpr std::size_t client_queued_bytes_budget = std::size_t{1} << 30;
static_assert(client_queued_bytes_budget >= client_queue_bytes_max);
// Admin HTTP: the request head, and how long a client may take to send it.
inline constexpr std::size_t admin_request_bytes_max = 8192;
inline constexpr std::int64_t admin_request_timeout_ms = 5000;
// /health reports a server that has applied fewer than this many of the
// chosen slots as unhealthy (catching up).
inline constexpr std::uint64_t health_apply_lag_max = 1000;
// Admin connections served at once; more are closed on accept.
inline constexpr std::size_t admin_connections_max = 64;
// Descriptors synodd needs beside its client connections: peer links both
// ways, admin connections, the listeners, WAL segments, snapshots, meta.
inline constexpr std::size_t descriptors_reserved = 256;
// After EMFILE/ENFILE on accept, a listener waits this long before it
// accepts again (instead of spinning on a full descriptor table).
inline constexpr std::int64_t accept_pause_ms = 100;
// Outbound peer connections retry with exponential backoff in this range.
inline constexpr std::int64_t peer_backoff_ms_min = 50;
inline constexpr std::int64_t peer_backoff_ms_max = 2000;
// Inbound peer connections at once (an ensemble has at most a few dozen
// members, each with one link to us); more are closed on accept with a
// logged reason.
inline constexpr std::size_t peer_inbound_connections_max = 64;
// A peer connection, either way, whose data or keepalive probes go
// unacknowledged for peer_silence_ms(options) is closed (TCP keepalive and
// TCP_USER_TIMEOUT, peer_link.h) and redialled: about an election timeout,
// never below this.
inline constexpr std::int64_t peer_silence_ms_min = 500;
[[nodiscard]] inline std::int64_t peer_silence_ms(const RuntimeOptions& options) {
  const std::int64_t election_ms =
      std::int64_t{options.replica.core.election_ticks} * options.replica.tick_ms;
  return election_ms > peer_silence_ms_min ? election_ms : peer_silence_ms_min;
}

// An outbound peer link whose peer sent nothing at all (no message, no link
// heartbeat) for peer_dead_ms(options), peer_dead_elections silence bounds,
// is closed with a sentence naming the peer and redialled (peer_silence.h):
// this notices a stopped or wedged peer process, whose kernel still
// acknowledges, so TCP never does. Each link sends a heartbeat when it has
// sent nothing for peer_heartbeat_ms(options).
inline constexpr std::int64_t peer_dead_elections = 2;
inline constexpr std::int64_t peer_heartbeats_per_dead = 5;
[[nodiscard]] inline std::int64_t peer_dead_ms(const RuntimeOptions& options) {
  return peer_dead_elections * peer_silence_ms(options);
}
[[nodiscard]] inline std::int64_t peer_heartbeat_ms(const RuntimeOptions& options) {
  return peer_dead_ms(options) / peer_heartbeats_per_dead;
}
// Client sockets run with TCP keepalive: the first probe after this many
// seconds of silence, then every client_keepalive_interval_s, and the
// connection is closed after client_keepalive_probes unanswered, so a
// half-open connection (the client's host gone) goes away.
inline constexpr int client_keepalive_idle_s = 10;
inline constexpr int client_keepalive_interval_s = 5;
inline constexpr int client_keepalive_probes = 3;

// Raises the soft RLIMIT_NOFILE to what `wanted` client connections need
// (plus descriptors_reserved), as far as the hard limit allows, and returns
// how many client connections the limit leaves room for (at most `wanted`),
// with a sentence for the log when that is fewer. Plain POSIX.
struct DescriptorBudget {
  std::size_t client_connections = 0;
  std::string note;  // empty when nothing was lowered
};
[[nodiscard]] DescriptorBudget raise_descriptor_limit(std::size_t wanted);

// Runs synodd until SIGTERM or SIGINT (then: stop accepting, close sockets,
// sync, return 0) or a fatal disk error (returns 1). Addresses that cannot be
// bound are reported and return 2. `disk` is the data dir, already locked.
[[nodiscard]] int run(const RuntimeOptions& options, wal::Disk& disk);

}  // namespace synod::runtime
