// codec::encode_client, the inverse of decode_client: randomised round trips
// (describe.h is the naive twin), and agreement with build_client_frame, the
// test's own builder written straight against the generated API.
#include <doctest/doctest.h>

#include "base/prng.h"
#include "describe.h"
#include "random_values.h"
#include "server/codec/client.h"

using namespace synod;

namespace {
constexpr int rounds = 5000;
}

TEST_CASE("codec: every client request survives encode_client then decode_client") {
  base::Prng prng(0xC0DEC0E1);
  std::size_t kinds_seen[std::variant_size_v<codec::ClientBody>] = {};
  for (int i = 0; i < rounds; ++i) {
    const SessionId session{prng.below(100)};
    const codec::ClientRequest request = codec::test::random_client_request(prng, session);
    ++kinds_seen[request.body.index()];
    const std::string bytes = codec::encode_client(request);
    auto decoded = codec::decode_client(bytes, session);
    REQUIRE_MESSAGE(decoded.ok(), decoded.status().message);
    REQUIRE(codec::test::describe(decoded.value()) == codec::test::describe(request));
    REQUIRE(codec::request_id_of(bytes) == request.request_id);
    // The encoding is a function of the value: re-encoding gives the same bytes.
    REQUIRE(codec::encode_client(decoded.value()) == bytes);
  }
  for (std::size_t seen : kinds_seen) CHECK(seen > 0);
}

TEST_CASE("codec: encode_client and the generated-API builder decode to the same request") {
  base::Prng prng(0xC0DEC0E2);
  for (int i = 0; i < rounds / 5; ++i) {
    const codec::ClientRequest request = codec::test::random_client_request(prng, SessionId{9});
    auto ours = codec::decode_client(codec::encode_client(request), SessionId{9});
    auto twin = codec::decode_client(codec::test::build_client_frame(request), SessionId{9});
    REQUIRE(ours.ok());
    REQUIRE(twin.ok());
    REQUIRE(codec::test::describe(ours.value()) == codec::test::describe(twin.value()));
  }
}

TEST_CASE("codec: encode_client leaves the session out, so the connection's session is used") {
  store::WriteCommand write{SessionId{77}, std::nullopt,
                            store::DeleteOp{store::Path::root(), std::nullopt}};
  const codec::ClientRequest request{3, store::Command{write}};
  auto decoded = codec::decode_client(codec::encode_client(request), SessionId{5});
  REQUIRE(decoded.ok());
  const auto& command = std::get<store::Command>(decoded.value().body);
  CHECK(std::get<store::WriteCommand>(command).session == SessionId{5});
}

TEST_CASE("codec: an open-session request keeps an absent previous session absent") {
  const codec::ClientRequest fresh{1, codec::OpenSessionRequest{5000, std::nullopt, Zxid{0}}};
  auto decoded = codec::decode_client(codec::encode_client(fresh), SessionId{0});
  REQUIRE(decoded.ok());
  const auto& open = std::get<codec::OpenSessionRequest>(decoded.value().body);
  CHECK(!open.previous.has_value());
  CHECK(open.timeout_ms == 5000);

  const codec::ClientRequest moving{2, codec::OpenSessionRequest{5000, SessionId{0}, Zxid{42}}};
  auto moved = codec::decode_client(codec::encode_client(moving), SessionId{0});
  REQUIRE(moved.ok());
  const auto& again = std::get<codec::OpenSessionRequest>(moved.value().body);
  REQUIRE(again.previous.has_value());
  CHECK(*again.previous == SessionId{0});
  CHECK(again.last_zxid == Zxid{42});
}
