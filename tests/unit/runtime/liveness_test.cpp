// When the runtime closes a connection for silence, decided without a
// socket or a clock: an idle client connection (client_idle.h), and its
// counters on /metrics.
#include <doctest/doctest.h>

#include <string>

#include "server/runtime/client_idle.h"
#include "server/runtime/metrics.h"

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

TEST_CASE("metrics: idle closes are exported") {
  Metrics m;
  m.client_connections_handshake_timeout = 3;
  m.client_connections_idle_timeout = 4;
  const std::string text = metrics_text(m, replica::ReplicaStatus{}, NodeId{1});
  CHECK(text.find("synod_client_connections_idle_closed_total{reason=\"handshake\"} 3\n") !=
        std::string::npos);
  CHECK(text.find("synod_client_connections_idle_closed_total{reason=\"idle\"} 4\n") !=
        std::string::npos);
}
