// A minimal blocking HTTP/1.0 GET for `synod status`: POSIX sockets, a
// deadline on connect, send and receive, and a bounded body.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace synod::cli {

inline constexpr std::size_t http_response_bytes_max = std::size_t{1} << 20;

// GET http://HOST:PORT<path>: the body of a 200 answer; nullopt when the
// server is unreachable, slower than timeout_ms per step, answers another
// status, or sends more than http_response_bytes_max.
[[nodiscard]] std::optional<std::string> http_get(const std::string& host_port,
                                                  const std::string& path,
                                                  std::int64_t timeout_ms);

}  // namespace synod::cli
