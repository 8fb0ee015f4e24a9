// The HTTP scraps of the admin endpoint (admin.h).
#include "server/runtime/admin.h"

#include <string>

namespace synod::runtime {

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

}  // namespace synod::runtime
