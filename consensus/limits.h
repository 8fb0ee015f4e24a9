// The bounds on what one consensus message may carry (STYLE.md habit 6), and
// the ranges of the numbers in a message that the core accepts from a peer.
//
// ## Sizes on the wire
// Every message the core sends, encoded as a peer frame with its sender and
// addressee (server/codec/peer.h), is at most peer_frame_bytes_max bytes.
// The core cannot see the encoding, so it counts with upper bounds:
//   - message_overhead_bytes: everything but the variable parts (entries,
//     session ids, snapshot bytes and configuration ids);
//   - entry_wire_bytes(e):    one entry inside an Accept, a Promise page or
//     a Forward, with the table around it;
//   - session_wire_bytes:     one session id in a Touch or a ReadIndex;
//   - config_wire_bytes(c):   one configuration.
// server/codec static_asserts peer_frame_bytes_max against the receiver's
// limit (protocol::frame_bytes_max), and its unit tests encode maximal
// messages of every kind to check these bounds hold. How the core keeps
// within them: an Accept, a Promise page and a Forward take entries while
// their wire bytes stay within Options::accept_bytes_max (<=
// entry_wire_bytes_max) and always take one, and no entry in the log is
// larger than entry_wire_bytes_max (propose refuses it, a peer's message
// holding one is dropped); a Touch carries at most sessions_per_message_max
// sessions; a SnapshotChunk is at most Options::snapshot_chunk_bytes_max
// bytes of data with a configuration.
//
// ## Numbers from peers
// Slots and ballot rounds at or above slot_limit / round_limit are refused
// (consensus/README.md §13), so slot arithmetic on a message never
// overflows and a candidate can always pick a round above every one seen.
#pragma once

#include <cstddef>
#include <cstdint>

#include "base/ids.h"
#include "consensus/message.h"
#include "consensus/types.h"

namespace synod::consensus {

inline constexpr std::size_t peer_frame_bytes_max = std::size_t{16} << 20;  // 16 MiB
inline constexpr std::size_t message_overhead_bytes = 1024;
inline constexpr std::size_t entry_overhead_bytes = 256;
inline constexpr std::size_t session_wire_bytes = 8;
inline constexpr std::size_t node_wire_bytes = 4;

// The largest entry, by entry_wire_bytes, the core proposes, accepts or
// forwards; one such entry alone fits a message.
inline constexpr std::size_t entry_wire_bytes_max = peer_frame_bytes_max - message_overhead_bytes;
// The largest command (Entry::data) that fits: what the owner may propose.
inline constexpr std::size_t command_bytes_max = entry_wire_bytes_max - entry_overhead_bytes;
inline constexpr std::size_t sessions_per_message_max =
    (peer_frame_bytes_max - message_overhead_bytes) / session_wire_bytes;
// A configuration lists at most node_id_max + 1 distinct ids (voters and
// learners are disjoint); the codec refuses more.
inline constexpr std::size_t config_wire_bytes_max =
    entry_overhead_bytes + node_wire_bytes * (std::size_t{node_id_max} + 1);

// The largest Options::snapshot_chunk_bytes_max: a chunk with a maximal
// configuration still fits a message.
inline constexpr std::size_t snapshot_chunk_bytes_limit =
    peer_frame_bytes_max - message_overhead_bytes - config_wire_bytes_max;

inline constexpr std::uint64_t slot_limit = std::uint64_t{1} << 62;
inline constexpr std::uint64_t round_limit = std::uint64_t{1} << 62;

static_assert(config_wire_bytes_max < entry_wire_bytes_max / 2,
              "a maximal configuration entry fits a message with room to spare");
static_assert(sessions_per_message_max >= std::size_t{1} << 20,
              "a ReadIndex carries a million sessions (store::StoreConfig::sessions_max)");

[[nodiscard]] inline std::size_t config_wire_bytes(const Configuration& config) {
  return entry_overhead_bytes + node_wire_bytes * (config.voters.size() + config.learners.size());
}

[[nodiscard]] inline std::size_t entry_wire_bytes(const Entry& entry) {
  return entry_overhead_bytes + entry.data.size() +
         node_wire_bytes * (entry.config.voters.size() + entry.config.learners.size());
}

[[nodiscard]] inline bool entry_fits(const Entry& entry) {
  return entry_wire_bytes(entry) <= entry_wire_bytes_max;
}

// The bound the core counts `message` with: message_overhead_bytes plus
// its entries, session ids, or snapshot bytes and configuration. Every
// message the core sends is within peer_frame_bytes_max by this count.
[[nodiscard]] std::size_t message_wire_bytes(const Message& message);

}  // namespace synod::consensus
