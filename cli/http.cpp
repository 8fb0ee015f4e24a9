#include "cli/http.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <fcntl.h>

namespace synod::cli {
namespace {

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

bool wait_for(int fd, short events, std::int64_t timeout_ms) {
  pollfd p{fd, events, 0};
  return ::poll(&p, 1, static_cast<int>(timeout_ms)) == 1;
}

}  // namespace

std::optional<std::string> http_get(const std::string& host_port, const std::string& path,
                                    std::int64_t timeout_ms) {
  const auto colon = host_port.rfind(':');
  if (colon == std::string::npos) return std::nullopt;
  const std::string host = host_port.substr(0, colon);
  const std::string port = host_port.substr(colon + 1);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (::getaddrinfo(host.c_str(), port.c_str(), &hints, &found) != 0 || found == nullptr) {
    return std::nullopt;
  }
  Fd sock;
  sock.fd = ::socket(found->ai_family, found->ai_socktype | SOCK_NONBLOCK, found->ai_protocol);
  const int rc = sock.fd < 0 ? -1 : ::connect(sock.fd, found->ai_addr, found->ai_addrlen);
  ::freeaddrinfo(found);
  if (sock.fd < 0 || (rc != 0 && errno != EINPROGRESS)) return std::nullopt;
  if (!wait_for(sock.fd, POLLOUT, timeout_ms)) return std::nullopt;
  int error = 0;
  socklen_t length = sizeof error;
  if (::getsockopt(sock.fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0 || error != 0) {
    return std::nullopt;
  }
  const std::string request =
      "GET " + path + " HTTP/1.0\r\nHost: " + host_port + "\r\nConnection: close\r\n\r\n";
  std::size_t sent = 0;
  while (sent < request.size()) {
    if (!wait_for(sock.fd, POLLOUT, timeout_ms)) return std::nullopt;
    const auto n = ::send(sock.fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return std::nullopt;
    sent += static_cast<std::size_t>(n);
  }
  std::string response;
  char buffer[4096];
  for (;;) {
    if (!wait_for(sock.fd, POLLIN, timeout_ms)) return std::nullopt;
    const auto n = ::recv(sock.fd, buffer, sizeof buffer, 0);
    if (n < 0) return std::nullopt;
    if (n == 0) break;
    response.append(buffer, static_cast<std::size_t>(n));
    if (response.size() > http_response_bytes_max) return std::nullopt;
  }
  const auto space = response.find(' ');
  if (space == std::string::npos || response.compare(space + 1, 3, "200") != 0) return std::nullopt;
  const auto body = response.find("\r\n\r\n");
  if (body == std::string::npos) return std::nullopt;
  return response.substr(body + 4);
}

}  // namespace synod::cli
