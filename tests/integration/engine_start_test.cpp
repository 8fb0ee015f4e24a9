// synod-engine-start-test: an Engine (client/engine.h) does nothing until
// start() (issue 14 point 4). Its constructor used to start the thread and
// the session, so a session change could reach a handler that looked the
// Engine up before its owner had stored it (Client::Impl::on_session ->
// engine_->snapshot() with engine_ still null: SIGSEGV).
//
// The check, against a listening socket of its own (no synodd): no
// connection arrives while the constructed Engine is not started; one
// arrives after start(); no handler has run before start(). Exit 0 and
// "PASS", or 1 with "FAIL: ...".
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "client/engine.h"

namespace {

// How long an unstarted Engine is given to (wrongly) connect. The old
// constructor connected within a millisecond or two.
constexpr int quiet_ms = 500;
// How long a started one may take to connect (it connects at once).
constexpr int connect_ms = 10000;

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "FAIL: %s\n", what.c_str());
  std::_Exit(1);
}

// A loopback listener on a kernel-chosen port.
int listen_loopback(std::uint16_t& port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) fail("socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0) fail("bind() failed");
  if (::listen(fd, 8) != 0) fail("listen() failed");
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) fail("getsockname()");
  port = ntohs(addr.sin_port);
  return fd;
}

// Whether a connection is waiting to be accepted within `ms`.
bool incoming(int fd, int ms) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, ms) > 0 && (p.revents & POLLIN) != 0;
}

}  // namespace

int main() {
  std::uint16_t port = 0;
  const int listener = listen_loopback(port);
  synod::client::ClientOptions options;
  options.servers = {"127.0.0.1:" + std::to_string(port)};
  std::atomic<bool> started{false};
  std::atomic<bool> early{false};
  synod::client::EngineHandlers handlers;
  handlers.on_session = [&](const synod::client::SessionChanged&) {
    if (!started.load()) early = true;
  };
  synod::client::Engine engine(options, handlers, 1);
  if (incoming(listener, quiet_ms)) fail("the Engine connected before start()");
  started = true;
  engine.start();
  if (!incoming(listener, connect_ms)) fail("the Engine did not connect after start()");
  engine.stop();
  if (early.load()) fail("a session handler ran before start()");
  ::close(listener);
  std::printf("PASS\n");
  return 0;
}
