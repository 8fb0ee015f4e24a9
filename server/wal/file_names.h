// Names of the files server/wal writes: a u64 as 20 zero-padded decimal
// digits, so that names sort by value (segments, snapshots). The integers
// inside the files are base/little_endian.h's.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/assert.h"

namespace synod::wal {

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
