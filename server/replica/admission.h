// Admission: the checks a client write passes before it is proposed or
// forwarded, so that no request can make a log entry the WAL, a frame or the
// store would refuse later (issue 14, point 1). A write that fails them is
// answered at once and never reaches consensus; a leader runs the same check
// on every write a follower forwards, before it stamps and proposes it.
//
// ## The chain of bounds (each tied to the next by a static_assert below)
//   a node value   data_bytes_max (StoreConfig; at most data_bytes_max_admitted)
//   one command    command_bytes_max: the LogCommand as encode_command writes
//                  it, with its log time stamped. One maximal node value, a
//                  maximal path and a fence fit.
//   one frame      an Accept holds accept_bytes_max plus one more entry, so
//                  that much plus one command plus the envelope fits
//                  protocol::frame_bytes_max; a client frame likewise carries
//                  the request for any admitted command.
//   one record     the WAL record of an accepted entry (storage.h) holding
//                  anything one frame can carry fits wal::record_bytes_max.
//   one batch      the leader proposes at most propose_batch_bytes_max of
//                  records at once (Replica::propose_batch), which fit the
//                  WAL's smallest unsynced budget, so one append never
//                  exceeds it (wal.h).
//
// ## What admit_write answers
//   TOO_LARGE      a create's or set's data above StoreConfig::data_bytes_max,
//                  or the whole command above command_bytes_max
//   BAD_ARGUMENTS  a multi of more than multi_ops_max ops
// Paths need no check here: a protocol::Path is at most path_bytes_max bytes
// by construction. Everything else is the store's to decide when it applies.
//
// Deterministic and pure.
#pragma once

#include <cstddef>
#include <cstdint>

#include "consensus/limits.h"
#include "consensus/options.h"
#include "protocol/error.h"
#include "protocol/limits.h"
#include "server/codec/peer.h"
#include "server/store/types.h"
#include "server/wal/segment.h"
#include "server/wal/wal.h"

namespace synod::replica {

// The encoded bytes of one client command, log time included.
inline constexpr std::size_t command_bytes_max = std::size_t{8} << 20;  // 8 MiB
// What encode_command adds around the paths and data of a command: at most
// command_fixed_bytes plus command_op_bytes per op (checked against the real
// encoder by tests/unit/replica/admission_test.cpp). Commands whose paths
// and data alone leave this much room are admitted without encoding them.
inline constexpr std::size_t command_fixed_bytes = 256;
inline constexpr std::size_t command_op_bytes = 128;
// The largest StoreConfig::data_bytes_max a replica accepts: one node of it,
// a maximal path and a maximal fence path make a command that fits.
inline constexpr std::size_t data_bytes_max_admitted =
    command_bytes_max - 2 * protocol::path_bytes_max - command_fixed_bytes - 2 * command_op_bytes;
// Bytes of an accepted-entry WAL record beyond its data (storage.h: type,
// slot, ballot, kind, data length, two id counts) and per configuration id.
inline constexpr std::size_t accepted_record_fixed_bytes = 1 + 8 + 8 + 4 + 1 + 4 + 4 + 4;
inline constexpr std::size_t accepted_record_id_bytes = 4;
// Ids in one configuration entry, voters and learners together.
inline constexpr std::size_t config_ids_max = 2 * std::size_t{node_id_max};
// The records one leader batch may take on disk.
inline constexpr std::uint64_t propose_batch_bytes_max = wal::unsynced_bytes_max_min;

static_assert(protocol::data_bytes_max_default <= data_bytes_max_admitted,
              "the default node limit admits one maximal write");
static_assert(data_bytes_max_admitted + 2 * protocol::path_bytes_max + command_fixed_bytes +
                      2 * command_op_bytes <=
                  command_bytes_max,
              "a maximal node value, path and fence fit one command");
static_assert(consensus::Options{}.accept_bytes_max + command_bytes_max +
                      protocol::frame_headroom_bytes <=
                  protocol::frame_bytes_max,
              "a full Accept plus one maximal command fits one peer frame");
static_assert(command_bytes_max <= consensus::command_bytes_max,
              "an admitted command fits one entry of one peer message (consensus/limits.h)");
static_assert(command_bytes_max + protocol::frame_headroom_bytes <= protocol::frame_bytes_max,
              "a client frame carries the request of any admitted command");
static_assert(accepted_record_fixed_bytes + protocol::frame_bytes_max +
                      accepted_record_id_bytes * config_ids_max <=
                  wal::record_bytes_max,
              "anything one frame can carry as an entry fits one WAL record");
static_assert(wal::record_bytes_on_disk(accepted_record_fixed_bytes + command_bytes_max) <=
                  propose_batch_bytes_max,
              "one maximal command always fits a leader batch");
static_assert(propose_batch_bytes_max <= wal::unsynced_bytes_max_min,
              "a leader batch fits the smallest unsynced budget");

// The bytes of the WAL record that holds a command entry of `data_bytes`.
[[nodiscard]] constexpr std::uint64_t accepted_record_bytes(std::size_t data_bytes) {
  return accepted_record_fixed_bytes + data_bytes;
}

// OK, or TOO_LARGE / BAD_ARGUMENTS as above. `config` is the store's: the
// same on every replica, so follower and leader decide alike.
[[nodiscard]] protocol::Status admit_write(const codec::LogCommand& command,
                                           const store::StoreConfig& config);

// Bytes the paths and data of a command hold, and the ops it has; the
// admission's cheap first look (exposed for its test).
struct CommandPayload {
  std::size_t bytes = 0;
  std::size_t ops = 0;
};
[[nodiscard]] CommandPayload command_payload(const store::Command& command);

}  // namespace synod::replica
