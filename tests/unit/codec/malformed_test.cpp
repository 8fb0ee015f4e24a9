// Bytes from the network are trusted for nothing: random bytes, every
// truncation and every single-byte flip of valid frames, oversized frames,
// and well-formed FlatBuffers that break our types' rules all decode to an
// error value (or, for a flip, possibly to another valid value) — never a
// crash, an assertion or an exception.
#include <doctest/doctest.h>

#include "base/prng.h"
#include "describe.h"
#include "proto/client_generated.h"
#include "proto/peer_generated.h"
#include "protocol/codec.h"
#include "random_values.h"
#include "server/codec/peer.h"

using namespace synod;
using namespace synod::codec;
using namespace synod::protocol;
using namespace synod::codec::test;

namespace {

// Every decoder on one input. A decoder that accepts must yield a value that
// re-encodes and decodes to itself (it is a valid value, not garbage).
void decode_everything(std::string_view bytes) {
  if (auto m = decode_peer(bytes); m.ok()) {
    auto again = decode_peer(encode_peer(m.value()));
    REQUIRE(again.ok());
    REQUIRE(describe(again.value()) == describe(m.value()));
  } else {
    REQUIRE(!m.status().message.empty());
  }
  if (auto c = decode_command(bytes); c.ok()) {
    auto again = decode_command(encode_command(c.value()));
    REQUIRE(again.ok());
    REQUIRE(describe(again.value()) == describe(c.value()));
  } else {
    REQUIRE(!c.status().message.empty());
  }
  if (auto r = decode_client(bytes); r.ok()) {
    REQUIRE(request_id_of(bytes) == r.value().request_id);
  } else {
    REQUIRE(!r.status().message.empty());
  }
  if (auto s = decode_server(bytes); !s.ok()) REQUIRE(!s.status().message.empty());
  SYNOD_MAYBE(request_id_of(bytes).has_value());
  (void)decode_envelope(bytes);
}

void mutate_everywhere(const std::string& valid) {
  for (std::size_t length = 0; length < valid.size(); ++length) {
    decode_everything(std::string_view(valid).substr(0, length));
  }
  std::string flipped = valid;
  for (std::size_t i = 0; i < flipped.size(); ++i) {
    for (int mask : {0x01, 0x80, 0xFF}) {
      flipped[i] = static_cast<char>(static_cast<unsigned char>(flipped[i]) ^ mask);
      decode_everything(flipped);
      flipped[i] = valid[i];
    }
  }
}

}  // namespace

TEST_CASE("codec: random bytes never crash a decoder") {
  base::Prng prng(0xBAD0001);
  for (int i = 0; i < 20000; ++i) decode_everything(random_bytes(prng, 96));
}

TEST_CASE("codec: every truncation and byte flip of a peer frame is an error or a valid value") {
  base::Prng prng(0xBAD0002);
  for (int i = 0; i < 60; ++i) mutate_everywhere(encode_peer(random_message(prng)));
}

TEST_CASE("codec: every truncation and byte flip of a log command is an error or a valid value") {
  base::Prng prng(0xBAD0003);
  for (int i = 0; i < 60; ++i) mutate_everywhere(encode_command(random_log_command(prng)));
}

TEST_CASE("codec: every truncation and byte flip of a client frame is an error or a valid value") {
  base::Prng prng(0xBAD0004);
  for (int i = 0; i < 60; ++i) {
    mutate_everywhere(build_client_frame(random_client_request(prng)));
  }
}

TEST_CASE("codec: every truncation and byte flip of a server frame is an error or a valid value") {
  base::Prng prng(0xBAD0005);
  for (int i = 0; i < 30; ++i) {
    const ServerMessage m = random_server_message(prng);
    if (const auto* r = std::get_if<Response>(&m)) mutate_everywhere(encode_response(*r));
  }
}

TEST_CASE("codec: a frame above frame_bytes_max is refused as TOO_LARGE, naming the limit") {
  const std::string huge(frame_bytes_max + 1, '\0');
  for (const auto& status : {decode_peer(huge).status(), decode_command(huge).status(),
                             decode_client(huge).status(), decode_server(huge).status()}) {
    CHECK(status.error == protocol::Error::TOO_LARGE);
    CHECK(status.message.find("frame_bytes_max") != std::string::npos);
  }
  CHECK(!request_id_of(huge).has_value());
}

TEST_CASE("codec: a response too large for a frame becomes a TOO_LARGE answer to the request") {
  Response response{42, Zxid{9}, {}, DataResult{std::string(frame_bytes_max, 'x'), {}, {}, 0}};
  auto decoded = decode_server(encode_response(response));
  REQUIRE(decoded.ok());
  const auto& answer = std::get<Response>(decoded.value());
  CHECK(answer.request_id == 42);
  CHECK(answer.status.error == protocol::Error::TOO_LARGE);
  CHECK(std::holds_alternative<std::monostate>(answer.body));
}

namespace {

std::string peer_frame_with_config(std::vector<std::uint32_t> voters,
                                   std::vector<std::uint32_t> learners) {
  flatbuffers::FlatBufferBuilder fbb;
  const auto config = proto::CreateConfigurationDirect(fbb, &voters, &learners);
  const auto entry = proto::CreateEntry(fbb, proto::EntryKind::config, 0, config);
  const auto entries = fbb.CreateVector(&entry, 1);
  const proto::Ballot ballot(1, 1);
  const auto accept = proto::CreateAccept(fbb, &ballot, 1, entries, 0);
  fbb.Finish(proto::CreatePeerFrame(fbb, proto::PeerMessage::Accept, accept.Union()));
  return std::string(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize());
}

std::string accept_with_entry(proto::EntryKind kind, bool with_data) {
  flatbuffers::FlatBufferBuilder fbb;
  const std::vector<std::uint8_t> bytes{1, 2, 3};
  const auto data = with_data ? fbb.CreateVector(bytes) : 0;
  const auto entry = proto::CreateEntry(fbb, kind, data, 0);
  const auto entries = fbb.CreateVector(&entry, 1);
  const proto::Ballot ballot(1, 1);
  fbb.Finish(proto::CreatePeerFrame(fbb, proto::PeerMessage::Accept,
                                    proto::CreateAccept(fbb, &ballot, 1, entries, 0).Union()));
  return std::string(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize());
}

void check_refused(const protocol::Result<consensus::Message>& result, std::string_view words) {
  REQUIRE(!result.ok());
  CHECK(result.error() == protocol::Error::BAD_ARGUMENTS);
  CHECK_MESSAGE(result.status().message.find(words) != std::string::npos, result.status().message);
}

}  // namespace

TEST_CASE("codec: a configuration that is unsorted, duplicated, overlapping or has voter 0 is refused") {
  CHECK(decode_peer(peer_frame_with_config({1, 2, 3}, {4})).ok());
  check_refused(decode_peer(peer_frame_with_config({2, 1}, {})), "configuration");
  check_refused(decode_peer(peer_frame_with_config({1, 1}, {})), "configuration");
  check_refused(decode_peer(peer_frame_with_config({1, 2}, {2})), "configuration");
  check_refused(decode_peer(peer_frame_with_config({0, 1}, {})), "configuration");
  check_refused(decode_peer(peer_frame_with_config({1, node_id_max + 1}, {})), "node_id_max");
}

TEST_CASE("codec: an entry of unknown kind, or carrying a value its kind has not, is refused") {
  CHECK(decode_peer(accept_with_entry(proto::EntryKind::command, true)).ok());
  check_refused(decode_peer(accept_with_entry(static_cast<proto::EntryKind>(7), false)),
                "entry kind 7");
  check_refused(decode_peer(accept_with_entry(proto::EntryKind::noop, true)), "no-op");
  check_refused(decode_peer(accept_with_entry(proto::EntryKind::config, false)), "configuration");
}

TEST_CASE("codec: an unknown message kind, or a frame without a message, is refused") {
  flatbuffers::FlatBufferBuilder fbb;
  const auto ack = proto::CreateTimeoutNow(fbb);
  fbb.Finish(proto::CreatePeerFrame(fbb, static_cast<proto::PeerMessage>(200), ack.Union()));
  const std::string unknown(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize());
  check_refused(decode_peer(unknown), "message kind 200");

  flatbuffers::FlatBufferBuilder empty;
  empty.Finish(proto::CreatePeerFrame(empty));
  check_refused(decode_peer(std::string(reinterpret_cast<const char*>(empty.GetBufferPointer()),
                                        empty.GetSize())),
                "no message");
}

TEST_CASE("codec: a message missing its ballot is refused") {
  flatbuffers::FlatBufferBuilder fbb;
  const auto prepare = proto::CreatePrepare(fbb, nullptr, 5, false);
  fbb.Finish(proto::CreatePeerFrame(fbb, proto::PeerMessage::Prepare, prepare.Union()));
  check_refused(
      decode_peer(std::string(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize())),
      "ballot is missing");
}

TEST_CASE("codec: a snapshot chunk that ends past its total_bytes is refused") {
  consensus::SnapshotChunk chunk{Ballot{1, NodeId{1}}, Slot{5}, {}, 10, 12, "abc"};
  chunk.config.voters = {NodeId{1}};
  check_refused(decode_peer(encode_peer(chunk)), "total_bytes");
  chunk.offset = ~std::uint64_t{0};
  check_refused(decode_peer(encode_peer(chunk)), "total_bytes");
  chunk.offset = 9;
  CHECK(decode_peer(encode_peer(chunk)).ok());
}

TEST_CASE("codec: a log command with a bad path, a bad time or too many ops is refused") {
  flatbuffers::FlatBufferBuilder fbb;
  const auto op = proto::CreateDeleteOpDirect(fbb, "/a//b");
  const auto write = proto::CreateWriteCommand(fbb, 1, 0, proto::Op::DeleteOp, op.Union());
  fbb.Finish(proto::CreateLogCommand(fbb, 0, 1, 1, proto::StoreCommand::WriteCommand, write.Union()));
  auto bad_path = decode_command(
      std::string(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize()));
  REQUIRE(!bad_path.ok());
  CHECK(bad_path.error() == protocol::Error::BAD_ARGUMENTS);
  CHECK(bad_path.status().message.find("delete path") != std::string::npos);

  LogCommand late{-1, SessionId{}, 0, store::NoopCommand{}};
  CHECK(!decode_command(encode_command(late)).ok());

  store::MultiCommand multi;
  for (std::size_t i = 0; i <= protocol::multi_ops_max; ++i) {
    multi.ops.push_back({protocol::CheckOp{protocol::Path::root(), std::nullopt}, std::nullopt});
  }
  auto too_many = decode_command(encode_command(LogCommand{0, SessionId{}, 0, multi}));
  REQUIRE(!too_many.ok());
  CHECK(too_many.status().message.find("multi_ops_max") != std::string::npos);
}

TEST_CASE("codec: an unknown request kind is UNIMPLEMENTED and its request id still readable") {
  flatbuffers::FlatBufferBuilder fbb;
  const auto sync = proto::CreateSyncRequest(fbb);
  fbb.Finish(proto::CreateClientFrame(fbb, 77, static_cast<proto::Request>(99), sync.Union()));
  const std::string bytes(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize());
  auto decoded = decode_client(bytes);
  REQUIRE(!decoded.ok());
  CHECK(decoded.error() == protocol::Error::UNIMPLEMENTED);
  CHECK(request_id_of(bytes) == std::optional<std::uint64_t>{77});
}

TEST_CASE("codec: a client request with a bad path, watch kind or page limit is BAD_ARGUMENTS") {
  auto build = [](auto make) {
    flatbuffers::FlatBufferBuilder fbb;
    const auto [type, value] = make(fbb);
    fbb.Finish(proto::CreateClientFrame(fbb, 1, type, value));
    return std::string(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize());
  };
  const std::string cases[] = {
      build([](auto& fbb) {
        return std::pair{proto::Request::GetRequest,
                         proto::CreateGetRequestDirect(fbb, "relative").Union()};
      }),
      build([](auto& fbb) {
        return std::pair{proto::Request::GetRequest, proto::CreateGetRequest(fbb).Union()};
      }),
      build([](auto& fbb) {
        return std::pair{proto::Request::SetWatchRequest,
                         proto::CreateSetWatchRequestDirect(fbb, "/a", proto::WatchKind::none)
                             .Union()};
      }),
      build([](auto& fbb) {
        return std::pair{proto::Request::ChildrenRequest,
                         proto::CreateChildrenRequestDirect(
                             fbb, "/a", false, proto::ReadMode::linearizable, nullptr,
                             static_cast<std::uint32_t>(protocol::children_page_max + 1))
                             .Union()};
      }),
      build([](auto& fbb) {
        return std::pair{proto::Request::CreateRequest,
                         proto::CreateCreateRequestDirect(fbb, "/a", nullptr,
                                                          static_cast<proto::NodeKind>(9))
                             .Union()};
      }),
  };
  for (const std::string& bytes : cases) {
    auto decoded = decode_client(bytes);
    REQUIRE(!decoded.ok());
    CHECK(decoded.error() == protocol::Error::BAD_ARGUMENTS);
    CHECK(request_id_of(bytes) == std::optional<std::uint64_t>{1});
  }
}

TEST_CASE("codec: misaligned input decodes the same as aligned input") {
  base::Prng prng(0xBAD0006);
  for (int i = 0; i < 200; ++i) {
    const consensus::Message message = random_message(prng);
    const std::string bytes = encode_peer(message);
    const std::string shifted = "x" + bytes;
    auto decoded = decode_peer(std::string_view(shifted).substr(1));
    REQUIRE(decoded.ok());
    CHECK(describe(decoded.value()) == describe(message));
  }
}
