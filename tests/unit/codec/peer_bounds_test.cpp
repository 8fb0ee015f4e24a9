// The sizes the consensus core counts with (consensus/limits.h) against what
// the peer codec really writes: every message encodes within its bound, and
// the largest message of each kind the core may send fits
// peer_frame_bytes_max, hence the receiver's protocol::frame_bytes_max.
#include <doctest/doctest.h>

#include <string>
#include <variant>
#include <vector>

#include "base/overloaded.h"
#include "base/prng.h"
#include "consensus/limits.h"
#include "random_values.h"
#include "server/codec/peer.h"

using namespace synod;
using namespace synod::codec;
using namespace synod::codec::test;
using consensus::entry_wire_bytes;
using consensus::message_overhead_bytes;

namespace {

std::size_t entries_bound(const std::vector<consensus::Entry>& entries) {
  std::size_t bytes = message_overhead_bytes;
  for (const auto& e : entries) bytes += entry_wire_bytes(e);
  return bytes;
}

// The bound the core counts with for `message` (consensus/limits.h).
std::size_t wire_bound(const consensus::Message& message) {
  return std::visit(
      base::Overloaded{
          [](const consensus::Accept& m) { return entries_bound(m.entries); },
          [](const consensus::Forward& m) { return entries_bound(m.entries); },
          [](const consensus::Promise& m) {
            std::size_t bytes = message_overhead_bytes;
            for (const auto& pe : m.entries) bytes += entry_wire_bytes(pe.entry);
            return bytes;
          },
          [](const consensus::SnapshotChunk& m) {
            return message_overhead_bytes + consensus::config_wire_bytes(m.config) + m.data.size();
          },
          [](const consensus::Touch& m) {
            return message_overhead_bytes + consensus::session_wire_bytes * m.sessions.size();
          },
          [](const consensus::ReadIndex& m) {
            return message_overhead_bytes + consensus::session_wire_bytes * m.sessions.size();
          },
          [](const auto&) { return message_overhead_bytes; }},
      message);
}

// Encodes as the runtime sends it, from and to set, and checks it decodes.
std::size_t frame_bytes(consensus::Message message) {
  const std::string bytes =
      encode_envelope(consensus::Envelope{NodeId{node_id_max}, NodeId{1}, std::move(message)});
  const auto decoded = decode_envelope(bytes);
  REQUIRE_MESSAGE(decoded.ok(), decoded.status().message);
  return bytes.size();
}

const Ballot big_ballot{consensus::round_limit - 1, NodeId{node_id_max}};
const Slot big_slot{consensus::slot_limit - 1};

consensus::Entry max_command() {
  return consensus::Entry::command(std::string(consensus::command_bytes_max, 'x'));
}

consensus::Configuration max_config() {
  consensus::Configuration config;
  for (std::uint32_t id = 1; id <= node_id_max; ++id) config.voters.push_back(NodeId{id});
  return config;
}

consensus::Promise promise_of(std::vector<consensus::Entry> entries) {
  consensus::Promise m{big_ballot, big_slot, true, big_ballot, big_slot, big_slot, {}};
  for (auto& e : entries) m.entries.push_back({big_slot, big_ballot, std::move(e), true});
  m.more_from = big_slot;
  return m;
}

// As many of the smallest entries as the largest accept_bytes_max allows:
// the most per-entry overhead a message can carry.
std::vector<consensus::Entry> many_noops() {
  const std::size_t count = consensus::entry_wire_bytes_max / consensus::entry_overhead_bytes;
  return std::vector<consensus::Entry>(count, consensus::Entry::noop());
}

}  // namespace

TEST_CASE("peer codec: every message encodes within the bound the consensus core counts with") {
  base::Prng prng(0xB0B0);
  for (int i = 0; i < 5000; ++i) {
    const consensus::Message message = random_message(prng);
    const std::size_t bound = wire_bound(message);
    const std::size_t bytes = encode_envelope({NodeId{1}, NodeId{2}, message}).size();
    REQUIRE_MESSAGE(bytes <= bound, consensus::message_name(message)
                                        << " of " << bytes << " bytes, bound " << bound);
  }
}

TEST_CASE("peer codec: the core's sending bound fits the receiver's frame limit") {
  static_assert(consensus::peer_frame_bytes_max <= protocol::frame_bytes_max);
  CHECK(consensus::entry_wire_bytes_max + message_overhead_bytes ==
        consensus::peer_frame_bytes_max);
}

TEST_CASE("peer codec: an Accept, a Promise page and a Forward of one largest entry fit a frame") {
  const consensus::Entry entry = max_command();
  REQUIRE(consensus::entry_fits(entry));
  const consensus::Accept accept{big_ballot, big_slot, {entry}, big_slot, ~0ull};
  CHECK(frame_bytes(accept) <= wire_bound(accept));
  CHECK(frame_bytes(promise_of({entry})) <= consensus::peer_frame_bytes_max);
  CHECK(frame_bytes(consensus::Forward{{entry}}) <= consensus::peer_frame_bytes_max);
  CHECK(wire_bound(accept) <= consensus::peer_frame_bytes_max);
}

TEST_CASE("peer codec: a page of the smallest entries up to entry_wire_bytes_max fits a frame") {
  const std::vector<consensus::Entry> noops = many_noops();
  const consensus::Accept accept{big_ballot, big_slot, noops, big_slot, ~0ull};
  CHECK(wire_bound(accept) <= consensus::peer_frame_bytes_max);
  CHECK(frame_bytes(accept) <= wire_bound(accept));
  const consensus::Promise page = promise_of(noops);
  CHECK(frame_bytes(page) <= wire_bound(page));
  CHECK(frame_bytes(consensus::Forward{noops}) <= consensus::peer_frame_bytes_max);
}

TEST_CASE("peer codec: a largest configuration entry and snapshot chunk fit a frame") {
  const consensus::Entry config = consensus::Entry::reconfig(max_config());
  REQUIRE(consensus::entry_wire_bytes(config) <= consensus::config_wire_bytes_max);
  const consensus::Promise page = promise_of({config});
  CHECK(frame_bytes(page) <= wire_bound(page));
  const std::size_t chunk =
      consensus::peer_frame_bytes_max - message_overhead_bytes - consensus::config_wire_bytes_max;
  consensus::SnapshotChunk m{big_ballot, big_slot, max_config(), 0, chunk, std::string(chunk, 's')};
  CHECK(frame_bytes(m) <= wire_bound(m));
  CHECK(wire_bound(m) <= consensus::peer_frame_bytes_max);
}

TEST_CASE("peer codec: a Touch and a ReadIndex of sessions_per_message_max sessions fit a frame") {
  std::vector<std::uint64_t> sessions(consensus::sessions_per_message_max, ~0ull);
  CHECK(frame_bytes(consensus::Touch{sessions}) <= consensus::peer_frame_bytes_max);
  const consensus::ReadIndex read{~0ull, std::move(sessions), ~0ull};
  CHECK(frame_bytes(read) <= wire_bound(read));
  CHECK(wire_bound(read) <= consensus::peer_frame_bytes_max);
}

TEST_CASE("peer codec: a maximal write in its LogCommand fits one consensus entry") {
  const std::string long_path = "/" + std::string(protocol::path_bytes_max - 1, 'p');
  const protocol::Path path = protocol::Path::parse(long_path).value();
  const std::string data(protocol::data_bytes_max_default, 'd');
  const protocol::Fence fence{path, Zxid{~0ull}};
  const std::vector<store::Command> writes = {
      store::WriteCommand{SessionId{~0ull}, fence, protocol::SetOp{path, data, -1}},
      store::WriteCommand{
          SessionId{~0ull}, fence,
          protocol::CreateOp{path, data, protocol::NodeKind::ttl, true, protocol::ttl_ms_max,
                             protocol::MissingParents::create_container}},
      store::MultiCommand{SessionId{~0ull},
                          fence,
                          {protocol::MultiOp{protocol::SetOp{path, data, -1}, std::nullopt}}}};
  for (const store::Command& write : writes) {
    const std::string bytes =
        encode_command(LogCommand{store::log_time_ms_max, SessionId{~0ull}, ~0ull, write});
    CHECK(bytes.size() <= protocol::data_bytes_max_default + 2 * protocol::path_bytes_max +
                              log_command_overhead_bytes);
    CHECK(consensus::entry_fits(consensus::Entry::command(bytes)));
  }
}
