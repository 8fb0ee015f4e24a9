// Randomised round trips: for thousands of values from a seeded Prng,
// decode(encode(v)) describes the same as v (describe.h is the naive twin).
#include <doctest/doctest.h>

#include "base/prng.h"
#include "describe.h"
#include "protocol/codec.h"
#include "random_values.h"
#include "server/codec/peer.h"

using namespace synod;
using namespace synod::codec;
using namespace synod::protocol;
using namespace synod::codec::test;

namespace {
constexpr int rounds = 5000;
}

TEST_CASE("codec: every consensus message survives encode_peer then decode_peer") {
  base::Prng prng(0xC0DEC001);
  std::size_t kinds_seen[std::variant_size_v<consensus::Message>] = {};
  for (int i = 0; i < rounds; ++i) {
    const consensus::Message message = random_message(prng);
    ++kinds_seen[message.index()];
    const std::string bytes = encode_peer(message);
    auto decoded = decode_peer(bytes);
    REQUIRE_MESSAGE(decoded.ok(), decoded.status().message);
    REQUIRE(describe(decoded.value()) == describe(message));
    // The encoding is a function of the value: re-encoding gives the same bytes.
    REQUIRE(encode_peer(decoded.value()) == bytes);
  }
  for (std::size_t seen : kinds_seen) CHECK(seen > 0);
}

TEST_CASE("codec: an envelope keeps its sender and addressee") {
  base::Prng prng(0xC0DEC002);
  for (int i = 0; i < rounds / 10; ++i) {
    const consensus::Envelope envelope{NodeId{static_cast<std::uint32_t>(prng.range(1, 7))},
                                       NodeId{static_cast<std::uint32_t>(prng.range(1, 7))},
                                       random_message(prng)};
    auto decoded = decode_envelope(encode_envelope(envelope));
    REQUIRE_MESSAGE(decoded.ok(), decoded.status().message);
    REQUIRE(describe(decoded.value()) == describe(envelope));
  }
  // The sender's ensemble travels with every frame; a receiver compares it.
  const consensus::Envelope touch{NodeId{1}, NodeId{2}, consensus::Touch{{7}}};
  auto addressed = decode_addressed(encode_envelope(touch, 0xC1A55E5ull));
  REQUIRE(addressed.ok());
  CHECK(addressed.value().cluster == 0xC1A55E5ull);
  CHECK(describe(addressed.value().envelope) == describe(touch));
  CHECK(decode_addressed(encode_envelope(touch)).value().cluster == 0);
  auto anonymous = decode_envelope(encode_peer(consensus::TimeoutNow{Ballot{1, NodeId{1}}}));
  CHECK(!anonymous.ok());
  CHECK(anonymous.status().message.find("sender") != std::string::npos);
}

TEST_CASE("codec: every store command survives encode_command then decode_command") {
  base::Prng prng(0xC0DEC003);
  std::size_t kinds_seen[std::variant_size_v<store::Command>] = {};
  for (int i = 0; i < rounds; ++i) {
    const LogCommand command = random_log_command(prng);
    ++kinds_seen[command.command.index()];
    const std::string bytes = encode_command(command);
    auto decoded = decode_command(bytes);
    REQUIRE_MESSAGE(decoded.ok(), decoded.status().message);
    REQUIRE(describe(decoded.value()) == describe(command));
    REQUIRE(encode_command(decoded.value()) == bytes);
  }
  for (std::size_t seen : kinds_seen) CHECK(seen > 0);
}

TEST_CASE("codec: a command entry carries a log command through encode_peer") {
  base::Prng prng(0xC0DEC004);
  consensus::Accept accept{Ballot{3, NodeId{2}}, Slot{10}, {}, Slot{9}};
  std::vector<LogCommand> commands;
  for (int i = 0; i < 20; ++i) {
    commands.push_back(random_log_command(prng));
    accept.entries.push_back(consensus::Entry::command(encode_command(commands.back())));
  }
  auto decoded = decode_peer(encode_peer(accept));
  REQUIRE(decoded.ok());
  const auto& entries = std::get<consensus::Accept>(decoded.value()).entries;
  REQUIRE(entries.size() == commands.size());
  for (std::size_t i = 0; i < entries.size(); ++i) {
    auto command = decode_command(entries[i].data);
    REQUIRE(command.ok());
    CHECK(describe(command.value()) == describe(commands[i]));
  }
}

TEST_CASE("codec: every client request built with the generated API decodes to its value") {
  base::Prng prng(0xC0DEC005);
  for (int i = 0; i < rounds; ++i) {
    const ClientRequest request = random_client_request(prng);
    const std::string bytes = build_client_frame(request);
    auto decoded = decode_client(bytes);
    REQUIRE_MESSAGE(decoded.ok(), decoded.status().message);
    REQUIRE(describe(decoded.value()) == describe(request));
    REQUIRE(request_id_of(bytes) == request.request_id);
  }
}

TEST_CASE("codec: every server frame survives encode then decode_server") {
  base::Prng prng(0xC0DEC006);
  for (int i = 0; i < rounds; ++i) {
    const ServerMessage message = random_server_message(prng);
    std::string bytes;
    if (const auto* r = std::get_if<Response>(&message)) bytes = encode_response(*r);
    if (const auto* w = std::get_if<WatchEvent>(&message)) bytes = encode_watch_event(*w);
    if (const auto* s = std::get_if<SessionEvent>(&message)) bytes = encode_session_event(*s);
    auto decoded = decode_server(bytes);
    REQUIRE_MESSAGE(decoded.ok(), decoded.status().message);
    REQUIRE(describe(decoded.value()) == describe(message));
  }
}

TEST_CASE("codec: a children request with limit 0 asks for the default page") {
  ClientRequest request{
      7, ChildrenRequest{protocol::Path::root(), false, ReadMode::sequential, "", 0}};
  auto decoded = decode_client(build_client_frame(request));
  REQUIRE(decoded.ok());
  CHECK(std::get<ChildrenRequest>(decoded.value().body).limit == children_page_default);
}
