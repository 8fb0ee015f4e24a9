#include "server/wal/segment.h"

#include "base/crc32c.h"
#include "base/little_endian.h"
#include "server/wal/file_names.h"

namespace synod::wal {

namespace {

constexpr std::string_view segment_suffix = ".log";

// Why the record at an offset is not valid (or that it is).
enum class RecordCheck : std::uint8_t { valid, short_header, bad_length, past_end, bad_checksum };

struct RecordAt {
  RecordCheck check = RecordCheck::valid;
  std::uint32_t length = 0;
};

std::uint32_t record_crc(std::string_view length_bytes, std::string_view payload) {
  SYNOD_ASSERT(length_bytes.size() == 4);
  const std::uint32_t crc = base::crc32c(length_bytes);
  return base::crc32c_extend(crc, payload.data(), payload.size());
}

RecordAt check_record(std::string_view bytes, std::uint64_t offset) {
  SYNOD_ASSERT(offset <= bytes.size());
  if (bytes.size() - offset < record_header_bytes) return {RecordCheck::short_header, 0};
  const std::uint32_t length = base::get_u32(bytes, offset);
  if (length == 0 || length > record_bytes_max) return {RecordCheck::bad_length, length};
  if (bytes.size() - offset - record_header_bytes < length) return {RecordCheck::past_end, length};
  const auto at = static_cast<std::size_t>(offset);
  const std::string_view payload = bytes.substr(at + record_header_bytes, length);
  if (record_crc(bytes.substr(at, 4), payload) != base::get_u32(bytes, offset + 4)) {
    return {RecordCheck::bad_checksum, length};
  }
  return {RecordCheck::valid, length};
}

std::string describe(const RecordAt& record, std::uint64_t offset, std::uint64_t size) {
  const std::string at = " at offset " + std::to_string(offset);
  switch (record.check) {
    case RecordCheck::short_header:
      return "partial record header (" + std::to_string(size - offset) + " bytes)" + at;
    case RecordCheck::bad_length:
      return "impossible record length " + std::to_string(record.length) + at;
    case RecordCheck::past_end:
      return "record of " + std::to_string(record.length) + " bytes" + at +
             " runs past the end of the file (" + std::to_string(size) + " bytes)";
    case RecordCheck::bad_checksum: return "bad checksum" + at;
    case RecordCheck::valid: break;
  }
  SYNOD_UNREACHABLE();
}

// The first offset after `from` where a valid record starts, if any (rule T).
std::optional<std::uint64_t> find_valid_record(std::string_view bytes, std::uint64_t from) {
  for (std::uint64_t offset = from; offset + record_header_bytes <= bytes.size(); ++offset) {
    if (check_record(bytes, offset).check == RecordCheck::valid) return offset;
  }
  return std::nullopt;
}

Status corrupt(std::string_view file, const std::string& what) {
  return error_status(Code::corrupt, std::string(file) + ": " + what);
}

bool header_is_valid(std::string_view bytes) {
  if (bytes.size() < segment_header_bytes) return false;
  if (base::get_u32(bytes, 0) != segment_magic) return false;
  return base::crc32c(bytes.substr(0, 16)) == base::get_u32(bytes, 16);
}

// Rule D for headers; rule H is decided by the caller.
Status check_header(std::string_view file, std::string_view bytes, RecordIndex expected_first) {
  if (bytes.size() < segment_header_bytes) {
    return corrupt(file, "segment header is " + std::to_string(bytes.size()) +
                             " bytes at offset 0, needs " + std::to_string(segment_header_bytes));
  }
  if (base::get_u32(bytes, 0) != segment_magic) return corrupt(file, "bad magic at offset 0");
  const std::uint8_t version = base::get_u8(bytes, 4);
  if (version != segment_version) {
    return corrupt(file, "unsupported format version " + std::to_string(version) +
                             " at offset 4 (this build reads " +
                             std::to_string(segment_version) + ")");
  }
  if (base::crc32c(bytes.substr(0, 16)) != base::get_u32(bytes, 16)) {
    return corrupt(file, "bad header checksum at offset 16");
  }
  const std::uint64_t first = base::get_u64(bytes, 8);
  if (first != expected_first.value()) {
    return corrupt(file, "header first index " + std::to_string(first) +
                             " at offset 8 disagrees with the file name");
  }
  return Status{};
}

}  // namespace

std::string segment_name(RecordIndex first) {
  SYNOD_ASSERT(first.value() > 0);
  return std::string(wal_dir) + "/" + zero_padded(first.value()) + std::string(segment_suffix);
}

std::optional<RecordIndex> parse_segment_file(std::string_view file) {
  if (!file.ends_with(segment_suffix)) return std::nullopt;
  std::uint64_t first = 0;
  if (!parse_zero_padded(file.substr(0, file.size() - segment_suffix.size()), &first)) {
    return std::nullopt;
  }
  if (first == 0) return std::nullopt;
  return RecordIndex{first};
}

std::string encode_segment_header(RecordIndex first) {
  SYNOD_ASSERT(first.value() > 0);
  std::string header;
  base::put_u32(header, segment_magic);
  base::put_u8(header, segment_version);
  for (int i = 0; i < 3; ++i) base::put_u8(header, 0);
  base::put_u64(header, first.value());
  base::put_u32(header, base::crc32c(std::string_view(header)));
  SYNOD_ASSERT(header.size() == segment_header_bytes);
  SYNOD_ASSERT(header_is_valid(header));
  return header;
}

void encode_record(std::string& out, std::string_view payload) {
  SYNOD_ASSERT_MSG(!payload.empty(), "a record has at least one byte (length 0 is reserved)");
  SYNOD_ASSERT(payload.size() <= record_bytes_max);
  const std::size_t start = out.size();
  base::put_u32(out, static_cast<std::uint32_t>(payload.size()));
  base::put_u32(out, record_crc(std::string_view(out).substr(start, 4), payload));
  out.append(payload);
  // Read back what was just written (STYLE.md habit 11).
  SYNOD_ASSERT(out.size() == start + record_bytes_on_disk(payload.size()));
  SYNOD_ASSERT(check_record(std::string_view(out).substr(start), 0).check == RecordCheck::valid);
}

Result<SegmentScan> scan_segment(std::string_view file, std::string_view bytes,
                                 RecordIndex expected_first, bool is_last,
                                 RecordIndex keep_from) {
  SegmentScan scan;
  scan.first_index = expected_first;
  if (is_last && bytes.size() <= segment_header_bytes && !header_is_valid(bytes)) {
    scan.header_incomplete = true;  // rule H
    return scan;
  }
  if (Status header = check_header(file, bytes, expected_first); !header.ok()) return header;

  std::uint64_t offset = segment_header_bytes;
  while (offset < bytes.size()) {
    const RecordAt record = check_record(bytes, offset);
    if (record.check != RecordCheck::valid) {
      const std::string what = describe(record, offset, bytes.size());
      if (!is_last) return corrupt(file, what + " in a closed segment");
      if (const auto later = find_valid_record(bytes, offset + 1)) {
        return corrupt(file, what + ", followed by a valid record at offset " +
                                 std::to_string(*later) + " (damage, not a torn write)");
      }
      scan.torn_tail = true;  // rule T
      break;
    }
    const RecordIndex index{expected_first.value() + scan.record_count};
    if (index >= keep_from) {
      const auto at = static_cast<std::size_t>(offset + record_header_bytes);
      scan.records.push_back(Record{index, std::string(bytes.substr(at, record.length))});
    }
    ++scan.record_count;
    offset += record_bytes_on_disk(record.length);
  }
  SYNOD_ASSERT(offset <= bytes.size());
  SYNOD_ASSERT(scan.torn_tail == (offset < bytes.size()));
  scan.valid_bytes = offset;
  return scan;
}

}  // namespace synod::wal
