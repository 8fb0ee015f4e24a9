// The write-ahead log's bytes on disk: segment files of checksummed records,
// and the rules recovery applies to them after a crash. This header owns the
// format (STYLE.md habit 8; modelled on LogCabin Storage/SegmentedLog.h);
// wal.h is the class that writes it, recovery.h the function that reads it
// at start.
//
// ## Records and indices
//
// A record is an opaque byte string of 1..record_bytes_max bytes (the replica
// encodes promises, accepted entries and chosen marks into them). The WAL
// gives each record an index: 1, 2, 3, ... in append order, never reused. A
// record's index is not stored; it is the segment's first index plus the
// record's position in the segment.
//
// ## Files
//
// data_dir/wal/<first index as 20 decimal digits>.log, for example
// wal/00000000000000000001.log. Zero padding makes name order index order.
// The segments form one sequence: each segment's first index is the previous
// segment's first index plus its record count. Only the last segment is
// appended to ("open"); the others are closed and never change until
// truncate_prefix() removes them whole. Files in wal/ with other names are
// ignored and reported in a note.
//
// ## Segment layout (all integers little-endian)
//
//   offset  size  field
//        0     4  magic        "SYWL" (0x53 0x59 0x57 0x4C)
//        4     1  version      segment_version (1). A reader refuses any other
//                              value as corrupt: a newer format must not be
//                              half-understood. Bump it for any layout change.
//        5     3  reserved     zero
//        8     8  first_index  index of the segment's first record; must
//                              equal the index in the file name
//       16     4  header_crc   CRC32C of bytes [0, 16)
//       20     -  records, back to back, to the end of the file
//
// Record layout:
//
//        0     4  length       payload bytes, 1..record_bytes_max. Zero is
//                              never written, so zero-filled space reads as
//                              an impossible record rather than an empty one.
//        4     4  crc          CRC32C over the 4 length bytes, then the payload.
//                              Covering the length means a flipped length bit
//                              is caught even when the new length still fits.
//        8  length payload
//
// A segment grows past segment_bytes_max only when its first record alone is
// bigger; otherwise a record that would cross the limit starts a new segment.
// Only the last segment, and while segments are held (W3) the one before the
// oldest held one, can have bytes that are not yet durable.
//
// ## How the Wal writes (the order every crash window below relies on)
//
//   W1 append(): encode the batch, one Disk::append to the open segment.
//   W2 sync(): one Disk::sync of the open segment covers every record
//      appended since the last sync (group commit). The runtime acknowledges
//      a record (answers Promise/Accepted) only after the sync that covers it.
//   W3 rotation, without an fsync of its own: once every byte of the full
//      segment is durable (at once if it already is; otherwise the new
//      segment's records wait in memory, "held", until the sync that covers
//      the full segment has finished), create the new segment, append its
//      header (one append), then its records. The next sync's job makes the
//      segment and the directory entry durable (fdatasync, fsync of wal/)
//      before any of its records counts as durable. So no byte of a segment
//      reaches the disk before its predecessor is complete and durable, and
//      an acknowledged record's segment has a durable header and entry.
//   W4 truncate_prefix(): remove closed segments oldest first; the next
//      sync's job includes sync_dir("wal").
//
// ## Crash windows and recovery rules
//
//   C1 Crash between W1 and the end of W2: the last segment ends in some
//      prefix of the unsynced appends, the last perhaps torn (disk.h). Rule
//      T (torn tail) below truncates it.
//   C2 Crash inside W3 before the old segment's sync: as C1.
//   C3 Crash inside W3 after the create, before the next sync: the new
//      segment is missing (fine: the old one is last and complete), or
//      present with a prefix of its appends: 0..segment_header_bytes bytes
//      that need not form a valid header (the header is its own append, so
//      nothing follows a torn one), or a valid header and a prefix of records
//      (rule T). Rule H: a LAST segment no longer than a header whose header
//      is invalid is an interrupted rotation; it holds no record, so it is
//      removed (durably) and the segment before it is the open one again.
//   C4 Crash inside W4: some removes are lost. Rule O: at open, the caller
//      passes keep_from (the newest snapshot's wal_index_min); every segment
//      whose successor starts at or below keep_from holds only obsolete
//      records and is removed again, without checking its contents or the
//      gaps between such segments.
//   C5 Crash during recovery's own repairs (the truncation of rule T, the
//      removals of rules H and O): each repair is idempotent and made
//      durable before open() returns, so the next recovery finds the same
//      damage or none.
//
// Rule T, the torn tail. Scanning the LAST segment, let the first record
// that fails (fewer than 8 header bytes left, a length of 0 or above
// record_bytes_max, a length running past the end of the file, or a bad crc)
// start at offset p. If no valid record starts at any offset after p, the
// bytes from p on are the remains of an unsynced write: the segment is
// truncated to p and synced, and a note reports how many bytes went. If a
// valid record does start after p, the bytes at p are damage followed by
// data that was written after them, so recovery fails (rule D).
//   Why it is safe to drop a bad crc at the tail, too: a crash tears only
//   unsynced bytes (disk.h), and nothing unsynced was acknowledged (W2), so
//   the dropped records were never promised to anyone. A complete-looking
//   record with a bad crc is what a torn write looks like when the length
//   bytes reached the disk and the payload did not.
//   What it cannot tell apart: a media fault (not a crash) in the very last
//   synced record(s) of the last segment, with nothing valid after, looks
//   exactly like a torn write and is truncated. Telling them apart needs a
//   separately stored "durable up to" mark (TigerBeetle keeps redundant
//   headers for this); it is not done yet. Conversely a payload that itself
//   contains a well-formed record, torn at the tail, makes rule T see a valid
//   record after p and refuse to start: fail-stop, never silent loss.
//
// Rule D, damage. Anything else is fatal, with Code::corrupt naming the file
// and the byte offset: a short or invalid header outside rule H, a version
// other than segment_version, a header first index that disagrees with the
// name, any failing record in a segment that is not the last, a failing
// record in the last segment followed by a valid one, and a first index that
// does not follow on from the previous segment (a missing segment). Recovery
// never skips a bad record and carries on.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/ids.h"
#include "server/wal/status.h"

namespace synod::wal {

// A record's position in the WAL, from 1. 0 means "before the first record".
using RecordIndex = StrongId<struct RecordIndexTag, std::uint64_t>;

struct Record {
  RecordIndex index;
  std::string payload;
  bool operator==(const Record&) const = default;
};

inline constexpr std::string_view wal_dir = "wal";
inline constexpr std::uint32_t segment_magic = 0x4C575953u;  // "SYWL" as little-endian bytes
inline constexpr std::uint8_t segment_version = 1;
inline constexpr std::uint64_t segment_header_bytes = 20;
inline constexpr std::uint64_t record_header_bytes = 8;
// The largest payload of one record. A length above it on disk is impossible.
// Twice a peer frame, so any entry a frame can carry fits one record
// (server/replica/admission.h asserts it).
inline constexpr std::uint32_t record_bytes_max = 32u << 20;

static_assert(segment_header_bytes == 4 + 1 + 3 + 8 + 4);
static_assert(record_header_bytes == 4 + 4);
static_assert(record_bytes_max > 0);
static_assert(std::uint64_t{record_bytes_max} + record_header_bytes <= ~std::uint32_t{0},
              "a record and its header fit in what a u32 length can describe");

// "wal/00000000000000000042.log" for first index 42.
[[nodiscard]] std::string segment_name(RecordIndex first);

// The first index named by a bare file name in wal/ ("000...042.log"), or
// nothing when the name is not a segment's.
[[nodiscard]] std::optional<RecordIndex> parse_segment_file(std::string_view file);

// The 20 header bytes of a segment whose first record has index `first`.
[[nodiscard]] std::string encode_segment_header(RecordIndex first);

// Appends one record (header + payload) to `out`. 1 <= payload.size() <=
// record_bytes_max; the caller checks, so anything else is a broken
// invariant.
void encode_record(std::string& out, std::string_view payload);

// Bytes a record with this payload occupies on disk.
[[nodiscard]] constexpr std::uint64_t record_bytes_on_disk(std::uint64_t payload_bytes) {
  return record_header_bytes + payload_bytes;
}

// What scanning one segment's bytes found.
struct SegmentScan {
  RecordIndex first_index;
  std::uint64_t record_count = 0;
  // Payloads of records with index >= keep_from, in order.
  std::vector<Record> records;
  // End of the last valid record: the length to truncate to for rule T.
  std::uint64_t valid_bytes = 0;
  // Rule T applied: bytes after valid_bytes are a torn write (last segment only).
  bool torn_tail = false;
  // Rule H applied: an interrupted rotation left no valid header (last only).
  bool header_incomplete = false;
};

// Checks every byte of a segment against the rules above. `file` is the
// segment's name (for messages), `expected_first` the index in that name,
// `is_last` whether rules T and H may apply. Records below keep_from are
// verified but not returned. Returns Code::corrupt naming file and offset on
// damage (rule D).
[[nodiscard]] Result<SegmentScan> scan_segment(std::string_view file, std::string_view bytes,
                                               RecordIndex expected_first, bool is_last,
                                               RecordIndex keep_from);

}  // namespace synod::wal
