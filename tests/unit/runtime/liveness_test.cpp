// When the runtime closes a connection for silence, decided without a
// socket or a clock: an idle client connection (client_idle.h), a silent
// peer behind an outbound link (peer_silence.h), the link heartbeat's frame
// (server/codec/peer.h), and their counters on /metrics.
#include <doctest/doctest.h>

#include <string>

#include "consensus/message.h"
#include "server/codec/peer.h"
#include "server/runtime/client_idle.h"
#include "server/runtime/metrics.h"
#include "server/runtime/peer_silence.h"

using namespace synod;
using namespace synod::runtime;

namespace {

constexpr ClientIdleOptions idle_options{1000, 5000};

}  // namespace

TEST_CASE("client idle: a connection with no session is closed at the handshake timeout") {
  ClientIdle idle(idle_options, 100);
  auto v = idle.check(100, false);
  CHECK(v.close == ClientIdle::Close::no);
  CHECK(v.next_check_ms == 1100);
  idle.on_frame(900);  // sending frames is no handshake
  CHECK(idle.check(1099, false).close == ClientIdle::Close::no);
  v = idle.check(1100, false);
  CHECK(v.close == ClientIdle::Close::handshake);
  CHECK(v.reason.find("1000 ms") != std::string::npos);
}

TEST_CASE("client idle: a connection with a live session is never closed for idleness") {
  ClientIdle idle(idle_options, 0);
  for (std::int64_t now = 500; now < 1'000'000; now += 4999) {
    const auto v = idle.check(now, true);
    REQUIRE(v.close == ClientIdle::Close::no);
    CHECK(v.next_check_ms > now);
  }
}

TEST_CASE(
    "client idle: once its session is gone, a connection silent for the idle timeout is "
    "closed, and each frame restarts the wait") {
  ClientIdle idle(idle_options, 0);
  REQUIRE(idle.check(200, true).close == ClientIdle::Close::no);  // the handshake is done
  idle.on_frame(3000);
  // The session expired; the handshake timeout no longer applies.
  auto v = idle.check(4000, false);
  CHECK(v.close == ClientIdle::Close::no);
  CHECK(v.next_check_ms == 8000);
  idle.on_frame(7000);
  v = idle.check(8000, false);
  CHECK(v.close == ClientIdle::Close::no);
  CHECK(v.next_check_ms == 12000);
  v = idle.check(12000, false);
  CHECK(v.close == ClientIdle::Close::idle);
  CHECK(v.reason.find("5000 ms") != std::string::npos);
}

TEST_CASE("client idle: a connection that opens a session again is live again") {
  ClientIdle idle(idle_options, 0);
  REQUIRE(idle.check(200, true).close == ClientIdle::Close::no);
  REQUIRE(idle.check(4000, false).close == ClientIdle::Close::no);
  CHECK(idle.check(60'000, true).close == ClientIdle::Close::no);
}

TEST_CASE("peer silence: a peer heard from now and then is never dead; an idle link heartbeats") {
  PeerSilence silence(1000, 200);
  silence.connected(0);
  int heartbeats = 0;
  std::int64_t now = 0;
  std::int64_t heard = 0;
  while (now < 20'000) {
    const auto v = silence.check(now);
    REQUIRE(v.step != PeerSilence::Step::dead);
    if (v.step == PeerSilence::Step::heartbeat) ++heartbeats;
    REQUIRE(v.next_check_ms > now);
    REQUIRE(v.next_check_ms - now <= 200);
    now = v.next_check_ms;
    if (now - heard >= 900) {
      heard = now;
      silence.heard(now);  // the peer's own heartbeats, just in time
    }
  }
  CHECK(heartbeats >= 20'000 / 200 - 1);
  CHECK(heartbeats <= 20'000 / 200 + 1);
}

TEST_CASE("peer silence: a link that sends frames sends no heartbeats") {
  PeerSilence silence(1000, 200);
  silence.connected(0);
  for (std::int64_t now = 0; now < 5000; now += 50) {
    silence.sent(now);
    silence.heard(now);
    CHECK(silence.check(now).step == PeerSilence::Step::wait);
  }
}

TEST_CASE("peer silence: a peer that sends nothing is dead after dead_ms, not before") {
  PeerSilence silence(1000, 200);
  silence.connected(5000);
  silence.heard(5100);
  std::int64_t now = 5000;
  for (;;) {
    const auto v = silence.check(now);
    if (v.step == PeerSilence::Step::dead) break;
    REQUIRE(v.next_check_ms <= 6100);
    now = v.next_check_ms;
  }
  CHECK(now == 6100);
  // A new connection starts the wait afresh.
  silence.connected(7000);
  for (now = 7000; now < 8000; now += 100)
    REQUIRE(silence.check(now).step != PeerSilence::Step::dead);
  CHECK(silence.check(8000).step == PeerSilence::Step::dead);
}

TEST_CASE("peer silence: after our own stall the peer gets a fresh wait, not the blame") {
  PeerSilence silence(1000, 200);
  silence.connected(0);
  REQUIRE(silence.check(100).step != PeerSilence::Step::dead);
  // Stopped for 10 s: the peer's frames may sit unread in our buffers.
  CHECK(silence.check(10'100).step != PeerSilence::Step::dead);
  CHECK(silence.check(10'300).step != PeerSilence::Step::dead);
  silence.heard(10'400);
  for (std::int64_t now = 10'400; now < 11'400; now += 100) {
    REQUIRE(silence.check(now).step != PeerSilence::Step::dead);
  }
  CHECK(silence.check(11'400).step == PeerSilence::Step::dead);
}

TEST_CASE("codec: a link heartbeat round-trips, and is neither a message nor one") {
  const codec::LinkHeartbeat sent{NodeId{2}, NodeId{3}, 77};
  const std::string bytes = codec::encode_link_heartbeat(sent);
  const auto got = codec::decode_link_heartbeat(bytes);
  REQUIRE(got.has_value());
  CHECK(got->from == NodeId{2});
  CHECK(got->to == NodeId{3});
  CHECK(got->cluster == 77);
  CHECK_FALSE(codec::decode_addressed(bytes).ok());
  const std::string message = codec::encode_envelope(
      consensus::Envelope{NodeId{2}, NodeId{3}, consensus::TimeoutNow{}}, 77);
  CHECK_FALSE(codec::decode_link_heartbeat(message).has_value());
  CHECK_FALSE(codec::decode_link_heartbeat("not a frame").has_value());
  CHECK_FALSE(codec::decode_link_heartbeat(
                  codec::encode_link_heartbeat(codec::LinkHeartbeat{no_node, NodeId{3}, 77}))
                  .has_value());
}

TEST_CASE("metrics: idle closes, dead links and heartbeats are exported") {
  Metrics m;
  m.client_connections_handshake_timeout = 3;
  m.client_connections_idle_timeout = 4;
  m.peer_links_connected = 2;
  m.peer_links_dead = 5;
  m.peer_heartbeats_sent = 6;
  m.peer_heartbeats_received = 7;
  const std::string text = metrics_text(m, replica::ReplicaStatus{}, NodeId{1});
  CHECK(text.find("synod_client_connections_idle_closed_total{reason=\"handshake\"} 3\n") !=
        std::string::npos);
  CHECK(text.find("synod_client_connections_idle_closed_total{reason=\"idle\"} 4\n") !=
        std::string::npos);
  CHECK(text.find("synod_peer_links_connected 2\n") != std::string::npos);
  CHECK(text.find("synod_peer_links_dead_total 5\n") != std::string::npos);
  CHECK(text.find("synod_peer_heartbeats_sent_total 6\n") != std::string::npos);
  CHECK(text.find("synod_peer_heartbeats_received_total 7\n") != std::string::npos);
}
