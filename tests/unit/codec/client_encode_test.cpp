// protocol::encode_client, the inverse of decode_client: randomised round trips
// (describe.h is the naive twin), and agreement with build_client_frame, the
// test's own builder written straight against the generated API.
#include <doctest/doctest.h>

#include "base/prng.h"
#include "describe.h"
#include "protocol/codec.h"
#include "random_values.h"

using namespace synod;

namespace {
constexpr int rounds = 5000;
}

TEST_CASE("codec: every client request survives encode_client then decode_client") {
  base::Prng prng(0xC0DEC0E1);
  std::size_t kinds_seen[std::variant_size_v<protocol::ClientBody>] = {};
  for (int i = 0; i < rounds; ++i) {
    const protocol::ClientRequest request = codec::test::random_client_request(prng);
    ++kinds_seen[request.body.index()];
    const std::string bytes = protocol::encode_client(request);
    auto decoded = protocol::decode_client(bytes);
    REQUIRE_MESSAGE(decoded.ok(), decoded.status().message);
    REQUIRE(codec::test::describe(decoded.value()) == codec::test::describe(request));
    REQUIRE(protocol::request_id_of(bytes) == request.request_id);
    // The encoding is a function of the value: re-encoding gives the same bytes.
    REQUIRE(protocol::encode_client(decoded.value()) == bytes);
  }
  for (std::size_t seen : kinds_seen) CHECK(seen > 0);
}

TEST_CASE("codec: encode_client and the generated-API builder decode to the same request") {
  base::Prng prng(0xC0DEC0E2);
  for (int i = 0; i < rounds / 5; ++i) {
    const protocol::ClientRequest request = codec::test::random_client_request(prng);
    auto ours = protocol::decode_client(protocol::encode_client(request));
    auto twin = protocol::decode_client(codec::test::build_client_frame(request));
    REQUIRE(ours.ok());
    REQUIRE(twin.ok());
    REQUIRE(codec::test::describe(ours.value()) == codec::test::describe(twin.value()));
  }
}

TEST_CASE("codec: an open-session request keeps an absent previous session absent") {
  const protocol::ClientRequest fresh{1, protocol::OpenSessionRequest{5000, std::nullopt, Zxid{0}}};
  auto decoded = protocol::decode_client(protocol::encode_client(fresh));
  REQUIRE(decoded.ok());
  const auto& open = std::get<protocol::OpenSessionRequest>(decoded.value().body);
  CHECK(!open.previous.has_value());
  CHECK(open.timeout_ms == 5000);

  const protocol::ClientRequest moving{2,
                                       protocol::OpenSessionRequest{5000, SessionId{0}, Zxid{42}}};
  auto moved = protocol::decode_client(protocol::encode_client(moving));
  REQUIRE(moved.ok());
  const auto& again = std::get<protocol::OpenSessionRequest>(moved.value().body);
  REQUIRE(again.previous.has_value());
  CHECK(*again.previous == SessionId{0});
  CHECK(again.last_zxid == Zxid{42});
}
