#include "server/wal/meta.h"

#include "base/crc32c.h"
#include "base/little_endian.h"

namespace synod::wal {

namespace {

Status corrupt(const FramedFile& file, const std::string& what) {
  return error_status(Code::corrupt, std::string(file.name) + ": " + what);
}

std::uint32_t meta_crc(std::string_view header_start, std::string_view blob) {
  SYNOD_ASSERT(header_start.size() == 12);
  return base::crc32c_extend(base::crc32c(header_start), blob.data(), blob.size());
}

}  // namespace

std::string encode_framed(const FramedFile& file, std::string_view blob) {
  SYNOD_ASSERT(blob.size() <= meta_bytes_max);
  std::string bytes;
  base::put_u32(bytes, file.magic);
  base::put_u8(bytes, meta_version);
  for (int i = 0; i < 3; ++i) base::put_u8(bytes, 0);
  base::put_u32(bytes, static_cast<std::uint32_t>(blob.size()));
  base::put_u32(bytes, meta_crc(bytes, blob));
  bytes.append(blob);
  SYNOD_ASSERT(bytes.size() == meta_header_bytes + blob.size());
  return bytes;
}

Result<std::string> decode_framed(const FramedFile& file, std::string_view bytes) {
  if (bytes.size() < meta_header_bytes) {
    return corrupt(file, "header is " + std::to_string(bytes.size()) +
                             " bytes at offset 0, needs " + std::to_string(meta_header_bytes));
  }
  if (base::get_u32(bytes, 0) != file.magic) return corrupt(file, "bad magic at offset 0");
  const std::uint8_t version = base::get_u8(bytes, 4);
  if (version != meta_version) {
    return corrupt(file, "unsupported format version " + std::to_string(version) +
                             " at offset 4 (this build reads " + std::to_string(meta_version) +
                             ")");
  }
  const std::uint32_t length = base::get_u32(bytes, 8);
  if (length > meta_bytes_max || length != bytes.size() - meta_header_bytes) {
    return corrupt(file, "blob length " + std::to_string(length) +
                             " at offset 8 disagrees with the file size " +
                             std::to_string(bytes.size()));
  }
  const std::string_view blob = bytes.substr(meta_header_bytes);
  if (meta_crc(bytes.substr(0, 12), blob) != base::get_u32(bytes, 12)) {
    return corrupt(file, "bad checksum at offset 12");
  }
  return std::string(blob);
}

Status write_framed(Disk& disk, const FramedFile& file, std::string_view blob) {
  if (blob.size() > meta_bytes_max) {
    return error_status(Code::too_large, std::string(file.name) + " blob of " +
                                             std::to_string(blob.size()) +
                                             " bytes exceeds meta_bytes_max (" +
                                             std::to_string(meta_bytes_max) + ")");
  }
  const std::string bytes = encode_framed(file, blob);
  // Decode what is about to be written (STYLE.md habit 11).
  SYNOD_ASSERT(decode_framed(file, bytes).ok());
  SYNOD_ASSERT(decode_framed(file, bytes).value() == blob);
  SYNOD_ASSERT(file.temp_name.size() == file.name.size() + replace_temp_suffix.size());
  return replace_now(disk, file.name, bytes);
}

Result<std::optional<std::string>> read_framed(Disk& disk, const FramedFile& file) {
  auto bytes = read_whole(disk, file.name);
  if (!bytes.ok()) {
    if (bytes.status().error == Code::not_found) return std::optional<std::string>{};
    return bytes.status();
  }
  auto blob = decode_framed(file, bytes.value());
  if (!blob.ok()) return blob.status();
  return std::optional<std::string>{std::move(blob).value()};
}

}  // namespace synod::wal
