// The admin endpoint's answers (admin.h).
#include "server/runtime/admin.h"

#include <cstdint>
#include <string>

namespace synod::runtime {
namespace {

// The bytes of the files in one directory of the data dir (0 if unreadable).
std::uint64_t dir_bytes(wal::Disk& disk, std::string_view dir) {
  auto files = disk.list(dir);
  if (!files.ok()) return 0;
  std::uint64_t total = 0;
  for (const std::string& file : files.value()) {
    auto size = disk.size(std::string(dir) + "/" + file);
    if (size.ok()) total += size.value();
  }
  return total;
}

}  // namespace

std::string health_answer(const replica::ReplicaStatus& status) {
  std::string problems;
  if (status.disk_failure) {
    problems += "the disk cannot write (";
    problems += *status.disk_failure;
    problems += "); this server is read-only until it can\n";
  }
  if (status.consensus.leader == no_node) problems += "no leader is known\n";
  const std::uint64_t behind = status.consensus.chosen.value() > status.applied.value()
                                   ? status.consensus.chosen.value() - status.applied.value()
                                   : 0;
  if (behind > health_apply_lag_max) {
    problems += "applied slot " + std::to_string(status.applied.value()) + " is " +
                std::to_string(behind) + " behind the chosen slot " +
                std::to_string(status.consensus.chosen.value()) + "\n";
  }
  if (problems.empty()) return http_response(200, "OK", "text/plain", "ok\n");
  return http_response(503, "Service Unavailable", "text/plain", "unhealthy\n" + problems);
}

RequestLine parse_request_line(std::string_view head) {
  RequestLine line;
  const auto eol = head.find("\r\n");
  const std::string_view first = head.substr(0, eol);
  const auto sp1 = first.find(' ');
  if (sp1 == std::string_view::npos) return line;
  const auto sp2 = first.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return line;
  const std::string_view version = first.substr(sp2 + 1);
  if (version.substr(0, 7) != "HTTP/1.") return line;
  line.method = std::string(first.substr(0, sp1));
  std::string_view path = first.substr(sp1 + 1, sp2 - sp1 - 1);
  if (const auto q = path.find('?'); q != std::string_view::npos) path = path.substr(0, q);
  line.path = std::string(path);
  line.ok = true;
  return line;
}

std::string http_response(int code, std::string_view reason, std::string_view content_type,
                          std::string_view body) {
  std::string out = "HTTP/1.1 " + std::to_string(code) + " " + std::string(reason) + "\r\n";
  out += "Content-Type: " + std::string(content_type) + "\r\n";
  out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  out += "Connection: close\r\n\r\n";
  out += body;
  return out;
}

std::string admin_answer(std::string_view head, const RuntimeOptions& options,
                         const Metrics& metrics, const replica::Replica& replica,
                         wal::Disk& disk) {
  const RequestLine line = parse_request_line(head);
  if (!line.ok) return http_response(400, "Bad Request", "text/plain", "bad request line\n");
  if (line.method != "GET") {
    return http_response(405, "Method Not Allowed", "text/plain", "only GET is served\n");
  }
  if (line.path == "/health") return health_answer(replica.status());
  if (line.path == "/status") {
    return http_response(200, "OK", "application/json", status_json(options, replica.status()));
  }
  if (line.path == "/metrics") {
    Metrics scraped = metrics;
    scraped.wal_bytes = dir_bytes(disk, "wal");
    scraped.snapshot_bytes = dir_bytes(disk, "snap");
    return http_response(200, "OK", "text/plain; version=0.0.4",
                         metrics_text(scraped, replica.status(), options.id));
  }
  return http_response(404, "Not Found", "text/plain",
                       "unknown path; try /status, /metrics or /health\n");
}

}  // namespace synod::runtime
