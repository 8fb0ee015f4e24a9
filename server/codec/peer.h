// The peer codec: consensus messages and log-entry payloads <-> bytes
// (proto/peer.fbs). Server-only: clients never see these. With
// protocol/codec.h (the client protocol's), the only place generated
// FlatBuffers types meet Synod's own (DESIGN.md, "Layers").
//
// Contracts, for every decode_* here:
//   - `bytes` come from the network or a disk and are trusted for nothing.
//     The frame is size-checked (frame_bytes_max), then run through the
//     FlatBuffers verifier (verifier_depth_max, verifier_tables_max), then
//     every field is checked against our types' rules. Any failure is an
//     error value whose message is a sentence naming what is wrong — never
//     an assertion, never an exception. TOO_LARGE: the frame exceeds
//     frame_bytes_max. BAD_ARGUMENTS: anything else.
//   - A successful decode yields a value the consensus core and the store
//     accept without asserting: Configurations are valid(), node ids are at
//     most node_id_max, entry kinds are known and their unused fields empty,
//     a snapshot chunk ends within its total_bytes, paths parse.
//   - decode(encode(v)) == v for every value v that satisfies those rules.
//   - `bytes` need no particular alignment (they are copied when misaligned)
//     and need not outlive the call.
//
// encode_* never fail. They do not check the size of what they produce:
// keeping a message under the limit is the sender's job. The consensus core
// keeps every message it sends within consensus::peer_frame_bytes_max
// (consensus/limits.h: Accepts, Promise pages and Forwards by bytes, Touches
// by sessions, snapshot chunks by snapshot_chunk_bytes_max), counting with
// the bounds there; tests/unit/codec checks that encodings stay within them,
// and the asserts below tie them to what a receiver accepts.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/ids.h"
#include "consensus/limits.h"
#include "consensus/message.h"
#include "protocol/error.h"
#include "protocol/limits.h"
#include "server/store/command.h"

namespace synod::codec {

// What the core sends, a receiver takes (FrameReader refuses more than
// protocol::frame_bytes_max and closes the link).
static_assert(consensus::peer_frame_bytes_max <= protocol::frame_bytes_max,
              "every peer frame the core sends is one the receiver accepts");
// Bytes a LogCommand adds around the op it carries (the log time, session,
// sequence and tables); tests/unit/codec encodes maximal commands to check.
inline constexpr std::size_t log_command_overhead_bytes = 4096;
// A maximal client write (protocol/limits.h: one node's data at the default
// limit, a maximal path and a fence), in its LogCommand, is one entry the
// core proposes, forwards and accepts in a single message.
static_assert(protocol::data_bytes_max_default + 2 * protocol::path_bytes_max +
                      log_command_overhead_bytes <=
                  consensus::command_bytes_max,
              "a maximal write fits one consensus entry");

using protocol::Result;
using protocol::Status;

// A PeerFrame holding `message`, with from and to left 0.
[[nodiscard]] std::string encode_peer(const consensus::Message& message);
[[nodiscard]] Result<consensus::Message> decode_peer(std::string_view bytes);

// A PeerFrame holding the message, its sender and addressee, and the
// sender's ensemble (cluster id; 0 for none), for a transport that does not
// know them from the connection. decode_envelope requires both from and to
// to be in [1, node_id_max]; decode_addressed also says the cluster id.
struct Addressed {
  consensus::Envelope envelope;
  std::uint64_t cluster = 0;
};
[[nodiscard]] std::string encode_envelope(const consensus::Envelope& envelope,
                                          std::uint64_t cluster = 0);
[[nodiscard]] Result<consensus::Envelope> decode_envelope(std::string_view bytes);
[[nodiscard]] Result<Addressed> decode_addressed(std::string_view bytes);

// A link heartbeat: a PeerFrame with no message, only its sender, addressee
// and ensemble. An outbound link sends one when it has sent nothing for a
// while (server/runtime/peer_silence.h), so its peer hears from it even when
// consensus has nothing to say. decode_addressed refuses it ("the frame
// holds no message"); decode_link_heartbeat reads it, and says nullopt for
// every other frame, including one with a message.
struct LinkHeartbeat {
  NodeId from{};
  NodeId to{};
  std::uint64_t cluster = 0;
};
[[nodiscard]] std::string encode_link_heartbeat(const LinkHeartbeat& heartbeat);
[[nodiscard]] std::optional<LinkHeartbeat> decode_link_heartbeat(std::string_view bytes);

// The payload of a consensus command entry (Entry::data): one store command
// with the log time the leader stamped on it, and the client request it
// answers.
//   time_ms:  ms since the epoch, in [0, store::log_time_ms_max]; the store
//             applies the command at this time.
//   session, sequence: the issuing client session and its request id, so
//             the replica that holds the client's connection can answer it
//             and every replica can recognise a retried request. Both 0 for
//             commands the leader proposes itself (expiry, TTL removal,
//             no-ops). Independent of the session inside `command`.
struct LogCommand {
  std::int64_t time_ms = 0;
  SessionId session{};
  std::uint64_t sequence = 0;
  store::Command command;
};

[[nodiscard]] std::string encode_command(const LogCommand& value);
// Also rejects: time_ms outside [0, log_time_ms_max]; more than
// expire_sessions_max sessions or ttl_removals_max paths; more than
// multi_ops_max ops in a multi; any path that protocol::Path::parse refuses.
[[nodiscard]] Result<LogCommand> decode_command(std::string_view bytes);

}  // namespace synod::codec
