// data_dir/meta: a small opaque blob the replica replaces atomically (the
// promised ballot and the configuration). This header owns the format
// (STYLE.md habit 8).
//
// ## Layout (all integers little-endian)
//
//   offset  size  field
//        0     4  magic     "SYMT" (0x53 0x59 0x4D 0x54)
//        4     1  version   meta_version (1); any other is corrupt
//        5     3  reserved  zero
//        8     4  length    blob bytes, <= meta_bytes_max; the file is exactly
//                           meta_header_bytes + length long
//       12     4  crc       CRC32C over bytes [0, 12), then the blob
//       16     -  blob
//
// ## Writing (write_meta), crash windows and recovery rules
//
//   create "meta.tmp", append, sync it, rename it to "meta", sync_dir("").
//   M1 Crash before the rename is durable: "meta" still holds the previous
//      blob (or does not exist yet); "meta.tmp" may be left, complete or
//      torn. Recovery removes it (recovery.h).
//   M2 Crash after: "meta" holds the new blob in full, because it was synced
//      before the rename and the rename is atomic (disk.h).
//   So a reader sees the old blob or the new one, never a mix. There is no
//   older copy to fall back to: a "meta" that fails any check is media
//   damage, reported as Code::corrupt naming the offset; the operator
//   decides.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "server/wal/disk.h"
#include "server/wal/status.h"

namespace synod::wal {

inline constexpr std::string_view meta_name = "meta";
inline constexpr std::string_view meta_temp_name = "meta.tmp";
inline constexpr std::uint32_t meta_magic = 0x544D5953u;  // "SYMT" as little-endian bytes
inline constexpr std::uint8_t meta_version = 1;
inline constexpr std::uint64_t meta_header_bytes = 16;
inline constexpr std::uint32_t meta_bytes_max = 64u << 10;

static_assert(meta_header_bytes == 4 + 1 + 3 + 4 + 4);

// A small file replaced atomically, framed as above: meta is one, the
// identity file (identity.h) another, each with its own name and magic.
struct FramedFile {
  std::string_view name;
  std::string_view temp_name;
  std::uint32_t magic = 0;
};
inline constexpr FramedFile meta_file{meta_name, meta_temp_name, meta_magic};

// The whole file for a blob of at most meta_bytes_max bytes.
[[nodiscard]] std::string encode_framed(const FramedFile& file, std::string_view blob);
// Checks every field; Code::corrupt naming the file and the offset.
[[nodiscard]] Result<std::string> decode_framed(const FramedFile& file, std::string_view bytes);
// Replaces the file atomically (M1, M2); returns once the new blob is
// durable. Code::too_large if blob exceeds meta_bytes_max (nothing written).
[[nodiscard]] Status write_framed(Disk& disk, const FramedFile& file, std::string_view blob);
// The current blob, or none if the file was never written. Does not touch
// the temp file (recovery removes meta.tmp; identity.h says for its own).
[[nodiscard]] Result<std::optional<std::string>> read_framed(Disk& disk, const FramedFile& file);

// meta itself.
[[nodiscard]] inline std::string encode_meta(std::string_view blob) {
  return encode_framed(meta_file, blob);
}
[[nodiscard]] inline Result<std::string> decode_meta(std::string_view bytes) {
  return decode_framed(meta_file, bytes);
}
[[nodiscard]] inline Status write_meta(Disk& disk, std::string_view blob) {
  return write_framed(disk, meta_file, blob);
}
[[nodiscard]] inline Result<std::optional<std::string>> read_meta(Disk& disk) {
  return read_framed(disk, meta_file);
}

}  // namespace synod::wal
