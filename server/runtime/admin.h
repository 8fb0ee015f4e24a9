// Internal to server/runtime: the admin endpoint's answers, kept free of
// Asio. The one request line this server understands, the one response shape
// it sends, and which page a request gets; the admin listener
// (listeners.h) reads the request head and writes the answer.
//
// Contract: the request head comes from the network and is trusted for
// nothing; anything this server does not serve is a 4xx answer, never an
// assertion.
#pragma once

#include <string>
#include <string_view>

#include "server/replica/replica.h"
#include "server/runtime/metrics.h"
#include "server/runtime/runtime.h"
#include "server/wal/disk.h"

namespace synod::runtime {

// The path of "GET <path> HTTP/1.x" at the start of `head`, or "" when the
// request line is anything else (the server answers 400 or 405).
struct RequestLine {
  std::string method;
  std::string path;
  bool ok = false;
};
[[nodiscard]] RequestLine parse_request_line(std::string_view head);
// A complete HTTP/1.1 response with Content-Length and Connection: close.
[[nodiscard]] std::string http_response(int code, std::string_view reason,
                                        std::string_view content_type, std::string_view body);

// GET /health: 200 "ok" when this server can write its disk, knows a leader
// and has applied to within health_apply_lag_max slots of the chosen point;
// otherwise 503 "unhealthy" with one line per problem (a load balancer's
// probe).
[[nodiscard]] std::string health_answer(const replica::ReplicaStatus& status);

// The answer to one admin request; `head` is the request up to its blank
// line. GET /health, /status (status_json) and /metrics (metrics_text, with
// the bytes of the data dir's wal/ and snap/ read from `disk` per scrape);
// 400, 405 or 404 otherwise. Asks `replica` for its status only for /status
// and /metrics.
[[nodiscard]] std::string admin_answer(std::string_view head, const RuntimeOptions& options,
                                       const Metrics& metrics, const replica::Replica& replica,
                                       wal::Disk& disk);

}  // namespace synod::runtime
