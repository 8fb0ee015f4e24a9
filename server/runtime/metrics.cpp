// The counters and the /status and /metrics texts (metrics.h).
#include "server/runtime/metrics.h"

#include <cstdio>
#include <string>

#include "base/assert.h"

namespace synod::runtime {
namespace {

void append_json_string(std::string& out, std::string_view text) {
  out += '"';
  for (char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

const consensus::MemberProgress* progress_of(const replica::ReplicaStatus& status, NodeId id) {
  for (const consensus::MemberProgress& p : status.consensus.progress) {
    if (p.id == id) return &p;
  }
  return nullptr;
}

// The slots a member's acknowledged log is behind the chosen point.
std::uint64_t lag_of(const replica::ReplicaStatus& status, const consensus::MemberProgress& p) {
  const Slot chosen = status.consensus.chosen;
  return chosen > p.match ? chosen.value() - p.match.value() : 0;
}

// Milliseconds since a member last answered the leader.
std::int64_t last_contact_ms(const replica::ReplicaStatus& status,
                             const consensus::MemberProgress& p) {
  return std::int64_t{p.silent_ticks} * status.tick_ms;
}

// One gauge per other member, labelled by its id (the leader's view).
template <class Value>
void append_member_gauge(std::string& out, const replica::ReplicaStatus& status,
                         std::string_view name, std::string_view help, Value value) {
  out += "# HELP " + std::string(name) + " " + std::string(help) + "\n";
  out += "# TYPE " + std::string(name) + " gauge\n";
  for (const consensus::MemberProgress& p : status.consensus.progress) {
    out += std::string(name) + "{member=\"" + std::to_string(p.id.value()) + "\"} " +
           std::to_string(value(status, p)) + "\n";
  }
}

// A member as the leader sees it: "lag" (slots behind the chosen point) and
// "last_contact_ms" (since it last answered), the leader itself 0 and 0;
// both null on a server that does not lead (it cannot know them).
void append_member(std::string& out, const RuntimeOptions& options,
                   const replica::ReplicaStatus& status, NodeId id, std::string_view role) {
  out += "{\"id\":" + std::to_string(id.value()) + ",\"address\":";
  const auto it = options.peers.find(id);
  append_json_string(out, it == options.peers.end() ? std::string{} : to_string(it->second));
  out += ",\"role\":";
  append_json_string(out, role);
  const bool leading = std::string_view(status.consensus.role) == "leader";
  const consensus::MemberProgress* p = progress_of(status, id);
  if (leading && id == options.id) {
    out += ",\"lag\":0,\"last_contact_ms\":0";
  } else if (leading && p != nullptr) {
    out += ",\"lag\":" + std::to_string(lag_of(status, *p));
    out += ",\"last_contact_ms\":" + std::to_string(last_contact_ms(status, *p));
    if (p->snapshot_sending) {
      out += ",\"snapshot_bytes_acked\":" + std::to_string(p->snapshot_offset);
    }
  } else {
    out += ",\"lag\":null,\"last_contact_ms\":null";
  }
  out += '}';
}

void append_gauge(std::string& out, std::string_view name, std::string_view help,
                  std::uint64_t value) {
  out += "# HELP " + std::string(name) + " " + std::string(help) + "\n";
  out += "# TYPE " + std::string(name) + " gauge\n";
  out += std::string(name) + " " + std::to_string(value) + "\n";
}

void append_counter(std::string& out, std::string_view name, std::string_view help,
                    std::uint64_t value) {
  out += "# HELP " + std::string(name) + " " + std::string(help) + "\n";
  out += "# TYPE " + std::string(name) + " counter\n";
  out += std::string(name) + " " + std::to_string(value) + "\n";
}

// consensus/README.md §13: every reason is listed, 0 or not, so a rate
// query needs no absent-series handling.
void append_peer_rejections(std::string& out, const consensus::Status& status) {
  out +=
      "# HELP synod_peer_messages_rejected_total Peer messages the consensus core dropped as "
      "malformed or contradictory, by reason.\n";
  out += "# TYPE synod_peer_messages_rejected_total counter\n";
  for (std::size_t r = 0; r < consensus::rejection_kinds; ++r) {
    out += "synod_peer_messages_rejected_total{reason=\"" +
           std::string(consensus::rejection_name(static_cast<consensus::Rejection>(r))) + "\"} " +
           std::to_string(status.rejected[r]) + "\n";
  }
  append_counter(out, "synod_peer_messages_ignored_total",
                 "Peer messages the consensus core ignored as stale or duplicate.", status.ignored);
}

void append_liveness(std::string& out, const Metrics& m) {
  out +=
      "# HELP synod_client_connections_idle_closed_total Client connections closed for "
      "idleness: no session within the handshake timeout, or none left and silent for the "
      "idle timeout.\n";
  out += "# TYPE synod_client_connections_idle_closed_total counter\n";
  out += "synod_client_connections_idle_closed_total{reason=\"handshake\"} " +
         std::to_string(m.client_connections_handshake_timeout) + "\n";
  out += "synod_client_connections_idle_closed_total{reason=\"idle\"} " +
         std::to_string(m.client_connections_idle_timeout) + "\n";
  append_gauge(out, "synod_peer_links_connected", "Outbound peer links connected now.",
               m.peer_links_connected);
  append_counter(out, "synod_peer_links_dead_total",
                 "Outbound peer links closed and redialled because the peer sent nothing for "
                 "peer_dead_ms (stopped, wedged or cut off).",
                 m.peer_links_dead);
  append_counter(out, "synod_peer_heartbeats_sent_total", "Link heartbeats sent to peers.",
                 m.peer_heartbeats_sent);
  append_counter(out, "synod_peer_heartbeats_received_total",
                 "Link heartbeats received from peers.", m.peer_heartbeats_received);
}

std::string number(double value) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", value);
  return buf;
}

}  // namespace

void Histogram::observe(double seconds) {
  SYNOD_ASSERT_MSG(seconds >= 0, "durations come from the steady clock");
  for (std::size_t i = 0; i < bounds_seconds.size(); ++i) {
    if (seconds <= bounds_seconds[i]) {
      ++buckets_[i];
      break;
    }
  }
  ++count_;
  sum_seconds_ += seconds;
}

void Histogram::write(std::string& out, std::string_view name, std::string_view help) const {
  const std::string n(name);
  out += "# HELP " + n + " " + std::string(help) + "\n";
  out += "# TYPE " + n + " histogram\n";
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < bounds_seconds.size(); ++i) {
    cumulative += buckets_[i];
    out += n + "_bucket{le=\"" + number(bounds_seconds[i]) + "\"} " +
           std::to_string(cumulative) + "\n";
  }
  out += n + "_bucket{le=\"+Inf\"} " + std::to_string(count_) + "\n";
  out += n + "_sum " + number(sum_seconds_) + "\n";
  out += n + "_count " + std::to_string(count_) + "\n";
}

std::size_t request_type_of(const protocol::ClientBody& body) {
  // ClientBody: WriteRequest, MultiRequest, CloseSessionRequest, then one
  // alternative per remaining name, in request_type_names' order.
  static_assert(std::is_same_v<std::variant_alternative_t<3, protocol::ClientBody>,
                               protocol::GetRequest>);
  static_assert(std::is_same_v<std::variant_alternative_t<11, protocol::ClientBody>,
                               protocol::RemoveWatchRequest>);
  return body.index() < 3 ? request_type_write : body.index() - 2;
}

std::string status_json(const RuntimeOptions& options, const replica::ReplicaStatus& status) {
  const auto& c = status.consensus;
  std::string out = "{\"id\":" + std::to_string(options.id.value()) + ",\"role\":";
  append_json_string(out, c.role);
  out += ",\"leader\":" + std::to_string(c.leader.value());
  out += ",\"ballot\":{\"round\":" + std::to_string(c.promised.round) +
         ",\"node\":" + std::to_string(c.promised.node.value()) + "}";
  out += ",\"chosen\":" + std::to_string(c.chosen.value());
  out += ",\"applied\":" + std::to_string(status.applied.value());
  out += ",\"log_start\":" + std::to_string(c.log_start.value());
  out += ",\"log_end\":" + std::to_string(c.log_end.value());
  out += ",\"members\":[";
  bool first = true;
  for (NodeId id : c.config.voters) {
    if (!first) out += ',';
    first = false;
    append_member(out, options, status, id, "voter");
  }
  for (NodeId id : c.config.learners) {
    if (!first) out += ',';
    first = false;
    append_member(out, options, status, id, "learner");
  }
  out += "],\"sessions\":" + std::to_string(status.sessions);
  out += ",\"watches\":" + std::to_string(status.watches);
  out += ",\"clients\":" + std::to_string(status.clients);
  out += ",\"nodes\":" + std::to_string(status.nodes);
  out += ",\"digest\":" + std::to_string(status.digest);
  out += ",\"disk_failure\":";
  if (status.disk_failure) {
    append_json_string(out, *status.disk_failure);
  } else {
    out += "null";
  }
  out += ",\"data_dir\":";
  append_json_string(out, options.data_dir);
  out += "}\n";
  return out;
}

std::string metrics_text(const Metrics& m, const replica::ReplicaStatus& status, NodeId self) {
  std::string out;
  out += "# HELP synod_requests_total Client requests received, by type.\n";
  out += "# TYPE synod_requests_total counter\n";
  for (std::size_t i = 0; i < request_type_names.size(); ++i) {
    out += "synod_requests_total{type=\"" + std::string(request_type_names[i]) + "\"} " +
           std::to_string(m.requests[i]) + "\n";
  }
  out += "# HELP synod_answers_total Client requests answered, by type and result.\n";
  out += "# TYPE synod_answers_total counter\n";
  for (std::size_t i = 0; i < request_type_names.size(); ++i) {
    for (std::size_t r = 0; r < result_kinds; ++r) {
      if (m.answered[i][r] == 0) continue;
      out += "synod_answers_total{type=\"" + std::string(request_type_names[i]) +
             "\",result=\"" + std::string(protocol::error_name(static_cast<protocol::Error>(r))) +
             "\"} " + std::to_string(m.answered[i][r]) + "\n";
    }
  }
  append_gauge(out, "synod_wal_bytes", "Bytes in the write-ahead log's segments.", m.wal_bytes);
  append_gauge(out, "synod_snapshot_bytes", "Bytes in snapshot files.", m.snapshot_bytes);
  append_gauge(out, "synod_disk_failed",
               "1 while the disk cannot write (full or failing): the server is read-only.",
               status.disk_failure ? 1 : 0);
  append_counter(out, "synod_disk_errors_total",
                 "Disk writes and syncs refused, and failed recoveries after them.",
                 status.disk_errors);
  out += "# HELP synod_frames_rejected_total Frames that closed their connection: oversized or "
         "unreadable.\n";
  out += "# TYPE synod_frames_rejected_total counter\n";
  out += "synod_frames_rejected_total{source=\"client\"} " +
         std::to_string(m.client_frames_rejected) + "\n";
  out += "synod_frames_rejected_total{source=\"peer\"} " + std::to_string(m.peer_frames_rejected) +
         "\n";
  append_counter(out, "synod_client_connections_total", "Client connections accepted.",
                 m.client_connections_accepted);
  append_counter(out, "synod_client_connections_slow_total",
                 "Client connections closed because their send queue overflowed.",
                 m.client_connections_slow);
  append_counter(out, "synod_peer_messages_received_total", "Peer messages received.",
                 m.peer_messages_received);
  append_counter(out, "synod_peer_messages_sent_total", "Peer messages queued to a link.",
                 m.peer_messages_sent);
  append_counter(out, "synod_peer_messages_dropped_total",
                 "Peer messages dropped: link down or queue full.", m.peer_messages_dropped);
  append_liveness(out, m);
  append_peer_rejections(out, status.consensus);
  m.commit_latency.write(out, "synod_commit_latency_seconds",
                         "From a write request's arrival to its response.");
  m.fsync.write(out, "synod_fsync_seconds", "Duration of one sync of the write-ahead log.");
  append_counter(out, "synod_fsync_batch_inputs_total",
                 "Inputs (messages, requests, ticks) covered by syncs; divide by "
                 "synod_fsync_seconds_count for the mean batch.",
                 m.fsync_batch_inputs);
  append_counter(out, "synod_ticks_total", "Ticks delivered to the replica.", m.ticks);
  append_gauge(out, "synod_node_id", "This server's id.", self.value());
  append_gauge(out, "synod_is_leader", "1 when this server leads.",
               std::string_view(status.consensus.role) == "leader" ? 1 : 0);
  append_gauge(out, "synod_leader", "The leader this server believes in (0: none).",
               status.consensus.leader.value());
  append_gauge(out, "synod_ballot_round", "The round of the highest ballot promised.",
               status.consensus.promised.round);
  append_gauge(out, "synod_sessions", "Open sessions in the store.", status.sessions);
  append_gauge(out, "synod_watches", "Watches registered on this server.", status.watches);
  append_counter(out, "synod_watches_refused_total",
                 "Watches refused LIMIT_EXCEEDED because the server held --watches-max.",
                 status.watches_refused);
  append_gauge(out, "synod_clients", "Clients attached to this server.", status.clients);
  append_gauge(out, "synod_nodes", "Nodes in the store.", status.nodes);
  append_gauge(out, "synod_applied_slot", "The highest slot applied to the store.",
               status.applied.value());
  append_gauge(out, "synod_chosen_slot", "The highest slot known chosen.",
               status.consensus.chosen.value());
  if (!status.consensus.progress.empty()) {
    append_member_gauge(out, status, "synod_member_lag_slots",
                        "On the leader: slots each other member's acknowledged log is behind "
                        "the chosen point.",
                        lag_of);
    append_member_gauge(out, status, "synod_member_last_contact_ms",
                        "On the leader: milliseconds since each other member last answered.",
                        last_contact_ms);
  }
  return out;
}

}  // namespace synod::runtime
