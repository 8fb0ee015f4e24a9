// The peer side of the runtime without a running server: how a peer socket
// is set up to notice a dead or silent peer (peer_link.h), and the consensus
// core's rejections on /metrics (metrics.h).
#include <doctest/doctest.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <asio.hpp>

#include <string>

#include "server/runtime/metrics.h"
#include "server/runtime/peer_link.h"

using namespace synod;
using namespace synod::runtime;

namespace {

int int_option(tcp::socket& socket, int level, int name) {
  int value = -1;
  socklen_t size = sizeof value;
  REQUIRE(getsockopt(socket.native_handle(), level, name, &value, &size) == 0);
  return value;
}

}  // namespace

TEST_CASE(
    "peer link: a peer socket runs with TCP keepalive and TCP_USER_TIMEOUT set to the "
    "silence bound") {
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  tcp::socket client(io);
  client.connect(acceptor.local_endpoint());
  tcp::socket accepted = acceptor.accept();
  for (tcp::socket* socket : {&client, &accepted}) {
    REQUIRE_FALSE(watch_peer_silence(*socket, 3000));
    CHECK(int_option(*socket, SOL_SOCKET, SO_KEEPALIVE) == 1);
    CHECK(int_option(*socket, IPPROTO_TCP, TCP_USER_TIMEOUT) == 3000);
    CHECK(int_option(*socket, IPPROTO_TCP, TCP_KEEPIDLE) == 1);
    CHECK(int_option(*socket, IPPROTO_TCP, TCP_KEEPCNT) == 3);
  }
  CHECK(closed_for_silence(asio::error::timed_out));
  CHECK_FALSE(closed_for_silence(asio::error::eof));
}

TEST_CASE("peer link: the silence bound is an election timeout, never below its minimum") {
  RuntimeOptions options;
  options.replica.tick_ms = 10;
  options.replica.core.election_ticks = 20;
  CHECK(peer_silence_ms(options) == peer_silence_ms_min);
  options.replica.tick_ms = 100;
  CHECK(peer_silence_ms(options) == 2000);
}

TEST_CASE("metrics: every reason the consensus core rejects a peer message for is exported") {
  Metrics metrics;
  replica::ReplicaStatus status;
  status.consensus.rejected[static_cast<std::size_t>(consensus::Rejection::beyond_log)] = 3;
  status.consensus.ignored = 7;
  const std::string text = metrics_text(metrics, status, NodeId{1});
  CHECK(text.find("synod_peer_messages_rejected_total{reason=\"beyond_log\"} 3\n") !=
        std::string::npos);
  CHECK(text.find("synod_peer_messages_rejected_total{reason=\"sender\"} 0\n") !=
        std::string::npos);
  CHECK(text.find("synod_peer_messages_ignored_total 7\n") != std::string::npos);
}
