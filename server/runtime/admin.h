// Internal to server/runtime: the HTTP scraps of the admin endpoint, kept
// free of Asio. The one request line this server understands and the one
// response shape it sends; the listener (runtime.cpp) serves them.
#pragma once

#include <string>
#include <string_view>

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

}  // namespace synod::runtime
