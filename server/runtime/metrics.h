// Internal to server/runtime: the numbers synodd serves on its admin
// endpoint, kept free of Asio. The counters the runtime bumps (Metrics), and
// the two texts built from them and from the replica's status: /status as
// JSON and /metrics in Prometheus text format (version 0.0.4).
//
// Contract: every counter in Metrics only grows (wal_bytes and
// snapshot_bytes are gauges, filled per scrape). The texts are pure
// functions of their arguments: no clock, no I/O. Metric names and labels
// are an interface; the integration tests read them by name.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>

#include "protocol/codec.h"
#include "server/replica/replica.h"
#include "server/runtime/runtime.h"

namespace synod::runtime {

// A Prometheus histogram in seconds over fixed buckets.
class Histogram {
 public:
  static constexpr std::array<double, 12> bounds_seconds = {
      0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 5.0};
  void observe(double seconds);
  // Appends the _bucket, _sum and _count lines of `name`.
  void write(std::string& out, std::string_view name, std::string_view help) const;

 private:
  std::array<std::uint64_t, bounds_seconds.size()> buckets_{};  // not cumulative
  std::uint64_t count_ = 0;
  double sum_seconds_ = 0;
};

// The kinds of client request, for synod_requests_total{type=...}: every
// write (create, delete, set, multi, close) is "write"; the last is a frame
// that verified but did not decode.
inline constexpr std::array<std::string_view, 11> request_type_names = {
    "write", "get", "exists", "children", "check_fence", "open_session",
    "keep_alive", "sync", "set_watch", "remove_watch", "invalid"};
static_assert(request_type_names.size() == std::variant_size_v<protocol::ClientBody> - 2 + 1,
              "one name per ClientBody alternative, the three writes as one, plus invalid");
inline constexpr std::size_t request_type_write = 0;
inline constexpr std::size_t request_type_invalid = request_type_names.size() - 1;
// The index into request_type_names of a decoded request.
[[nodiscard]] std::size_t request_type_of(const protocol::ClientBody& body);

inline constexpr std::size_t result_kinds = static_cast<std::size_t>(protocol::error_last) + 1;

struct Metrics {
  std::array<std::uint64_t, request_type_names.size()> requests{};
  // Answers, by the request's type and the answer's result (protocol::Error).
  std::array<std::array<std::uint64_t, result_kinds>, request_type_names.size()> answered{};
  std::uint64_t wal_bytes = 0;       // wal/*, read from the data dir per scrape
  std::uint64_t snapshot_bytes = 0;  // snap/*
  std::uint64_t client_frames_rejected = 0;   // oversized or unreadable
  std::uint64_t peer_frames_rejected = 0;
  std::uint64_t client_connections_slow = 0;  // closed: queue overflow
  std::uint64_t client_connections_accepted = 0;
  std::uint64_t client_connections_handshake_timeout = 0;  // closed: no session in time
  std::uint64_t client_connections_idle_timeout = 0;       // closed: session gone, silent
  std::uint64_t peer_links_connected = 0;                  // a gauge: outbound links up
  std::uint64_t peer_links_dead = 0;  // closed: the peer sent nothing (peer_silence.h)
  std::uint64_t peer_heartbeats_sent = 0;
  std::uint64_t peer_heartbeats_received = 0;
  std::uint64_t peer_messages_received = 0;
  std::uint64_t peer_messages_sent = 0;
  std::uint64_t peer_messages_dropped = 0;  // link down or queue full
  Histogram commit_latency;                 // write request -> its response
  Histogram fsync;                          // one replica.sync()
  std::uint64_t fsync_batch_inputs = 0;     // inputs covered, summed over syncs
  std::uint64_t ticks = 0;
};

// {"id":1,"role":"leader","leader":1,"ballot":{"round":7,"node":1},...}
[[nodiscard]] std::string status_json(const RuntimeOptions& options,
                                      const replica::ReplicaStatus& status);
[[nodiscard]] std::string metrics_text(const Metrics& metrics,
                                       const replica::ReplicaStatus& status, NodeId self);

}  // namespace synod::runtime
