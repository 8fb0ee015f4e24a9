// Fixed-width little-endian integers for the on-disk formats, written and
// read byte by byte so the result does not depend on the host's byte order.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/assert.h"

namespace synod::wal {

inline void put_u8(std::string& out, std::uint8_t value) { out.push_back(static_cast<char>(value)); }

inline void put_u32(std::string& out, std::uint32_t value) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFFu));
}

inline void put_u64(std::string& out, std::uint64_t value) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFFu));
}

// Reads at `offset`; the caller has checked offset + width <= bytes.size().
[[nodiscard]] inline std::uint8_t get_u8(std::string_view bytes, std::uint64_t offset) {
  SYNOD_ASSERT(offset + 1 <= bytes.size());
  return static_cast<std::uint8_t>(bytes[static_cast<std::size_t>(offset)]);
}

[[nodiscard]] inline std::uint32_t get_u32(std::string_view bytes, std::uint64_t offset) {
  SYNOD_ASSERT(offset + 4 <= bytes.size());
  std::uint32_t value = 0;
  for (std::uint64_t i = 0; i < 4; ++i) {
    value |= std::uint32_t{get_u8(bytes, offset + i)} << (8 * i);
  }
  return value;
}

[[nodiscard]] inline std::uint64_t get_u64(std::string_view bytes, std::uint64_t offset) {
  SYNOD_ASSERT(offset + 8 <= bytes.size());
  std::uint64_t value = 0;
  for (std::uint64_t i = 0; i < 8; ++i) {
    value |= std::uint64_t{get_u8(bytes, offset + i)} << (8 * i);
  }
  return value;
}

// "00000000000000000042": a u64 as 20 decimal digits, so names sort by value.
[[nodiscard]] inline std::string zero_padded(std::uint64_t value) {
  std::string digits = std::to_string(value);
  SYNOD_ASSERT(digits.size() <= 20);
  return std::string(20 - digits.size(), '0') + digits;
}

// The inverse of zero_padded: exactly 20 decimal digits, or false.
[[nodiscard]] inline bool parse_zero_padded(std::string_view digits, std::uint64_t* value) {
  if (digits.size() != 20) return false;
  unsigned __int128 parsed = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return false;
    parsed = parsed * 10 + static_cast<unsigned>(c - '0');
  }
  if (parsed > ~std::uint64_t{0}) return false;
  *value = static_cast<std::uint64_t>(parsed);
  return true;
}

}  // namespace synod::wal
