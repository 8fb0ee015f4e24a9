// Snapshot files: the store's state at a slot, plus the WAL index from which
// the log is still needed. The payload is opaque here (server/store encodes
// it). This header owns the format (STYLE.md habit 8).
//
// ## Files
//
// data_dir/snap/<slot as 20 decimal digits>.snap, for example
// snap/00000000000000000042.snap; name order is slot order. A snapshot is
// first written as "<name>.tmp". Other names in snap/ are ignored (noted).
//
// ## Layout (all integers little-endian)
//
//   offset  size  field
//        0     4  magic          "SYSN" (0x53 0x59 0x53 0x4E)
//        4     1  version        snapshot_file_version (1); any other is corrupt
//        5     3  reserved       zero
//        8     8  slot           the slot the snapshot was taken at; must
//                                equal the slot in the file name
//       16     8  wal_index_min  the first WAL record index the replica still
//                                needs with this snapshot (Wal::open's
//                                keep_from); >= 1
//       24     8  payload_length <= snapshot_bytes_max; the file is exactly
//                                snapshot_header_bytes + payload_length long
//       32     4  crc            CRC32C over bytes [0, 32), then the payload
//       36     -  payload
//
// ## Writing (write_snapshot), crash windows and recovery rules
//
//   create "<name>.tmp", append header + payload, sync it, rename it to
//   <name>, sync_dir("snap").
//   S1 Crash before the rename is durable: <name> does not exist; a
//      "<name>.tmp" may, complete or torn. Recovery removes every *.tmp and
//      the previous snapshot is still the newest.
//   S2 Crash after: <name> exists and is complete, because its bytes were
//      synced before the rename (disk.h: rename is atomic).
//   S3 Crash inside remove_snapshots_below(): some old snapshots come back.
//      Harmless: the newest valid one wins and the caller removes the rest
//      again.
//   Media damage: recovery takes the newest snapshot that passes every check,
//   and notes each newer one it skipped with its file and offset. If
//   snapshots exist and none is valid, recovery fails (Code::corrupt) naming
//   the newest and the offset. Falling back only works if the WAL still
//   holds the older snapshot's records (from its wal_index_min on); the
//   replica keeps them by truncating the WAL to the older snapshot's
//   wal_index_min, not the newest's (wal.h truncate_prefix).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/ids.h"
#include "server/wal/disk.h"
#include "server/wal/segment.h"
#include "server/wal/status.h"

namespace synod::wal {

inline constexpr std::string_view snap_dir = "snap";
inline constexpr std::uint32_t snapshot_magic = 0x4E535953u;  // "SYSN" as little-endian bytes
// The version of the file around the payload (this header); the payload has
// its own, store::store_snapshot_version.
inline constexpr std::uint8_t snapshot_file_version = 1;
inline constexpr std::uint64_t snapshot_header_bytes = 36;
// The largest payload; the whole snapshot is held in memory.
inline constexpr std::uint64_t snapshot_bytes_max = std::uint64_t{4} << 30;

static_assert(snapshot_header_bytes == 4 + 1 + 3 + 8 + 8 + 8 + 4);

struct Snapshot {
  Slot slot;
  RecordIndex wal_index_min;
  std::string payload;
  bool operator==(const Snapshot&) const = default;
};

// "snap/00000000000000000042.snap" for slot 42.
[[nodiscard]] std::string snapshot_name(Slot slot);

// The whole file for a snapshot; slot >= 1, wal_index_min >= 1,
// payload.size() <= snapshot_bytes_max.
[[nodiscard]] std::string encode_snapshot(Slot slot, RecordIndex wal_index_min,
                                          std::string_view payload);

// Checks every field of a snapshot file's bytes; `file` names it in
// messages and `expected_slot` is the slot its name says. Code::corrupt with
// file and offset on any mismatch.
[[nodiscard]] Result<Snapshot> decode_snapshot(std::string_view file, std::string_view bytes,
                                               Slot expected_slot);

// Writes a snapshot atomically (see above). Returns only once it is durable.
// Replaces an existing snapshot at the same slot. Code::too_large if the
// payload exceeds snapshot_bytes_max.
[[nodiscard]] Status write_snapshot(Disk& disk, Slot slot, RecordIndex wal_index_min,
                                    std::string_view payload);

struct LoadedSnapshot {
  std::optional<Snapshot> snapshot;  // none when snap/ holds no snapshot
  std::vector<std::string> notes;    // skipped damaged snapshots, removed temps
};

// The newest valid snapshot (rules S1-S3 and the fallback above). Removes
// leftover *.tmp files durably.
[[nodiscard]] Result<LoadedSnapshot> load_newest_snapshot(Disk& disk);

// The same write as a job to run off the owner's thread (Disk::begin_replace);
// the file's bytes are encoded here, on the owner's thread. A failed run
// leaves the previous snapshots as they were, and perhaps the temp file,
// which remove_snapshot_temp() (or recovery, S1) removes.
[[nodiscard]] Result<std::unique_ptr<SyncJob>> begin_write_snapshot(Disk& disk, Slot slot,
                                                                    RecordIndex wal_index_min,
                                                                    std::string_view payload);
[[nodiscard]] Status remove_snapshot_temp(Disk& disk, Slot slot);

// Removes every snapshot with slot < keep_from, then syncs snap/ unless
// make_durable is false: a lost remove only brings an old snapshot back
// (S3), and the next snapshot's write syncs snap/ anyway.
[[nodiscard]] Status remove_snapshots_below(Disk& disk, Slot keep_from, bool make_durable = true);

// The slots of the snapshot files in snap/, ascending (valid or not).
[[nodiscard]] Result<std::vector<Slot>> list_snapshots(Disk& disk);

}  // namespace synod::wal
