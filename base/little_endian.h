// Fixed-width little-endian integers: the one encoder of every byte format
// Synod writes itself (WAL segments, snapshot files, meta, the store's
// snapshot payload, the u32 length prefix of every frame). Written and read
// byte by byte, so the bytes do not depend on the host's byte order.
//
// put_*     append to a string
// store_le  write into a fixed buffer the caller sized
// get_*     read from a string_view at an offset the caller has checked
//           (asserted: reading past the end is a caller's bug, not input)
// load_le   read from a buffer of at least sizeof(Uint) bytes
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/assert.h"

namespace synod::base {

template <std::unsigned_integral Uint>
inline void store_le(unsigned char* out, Uint value) {
  for (std::size_t i = 0; i < sizeof(Uint); ++i) {
    // Widened first: a uint8_t would be promoted to int before the shift.
    out[i] = static_cast<unsigned char>((std::uint64_t{value} >> (8 * i)) & 0xFFu);
  }
}

template <std::unsigned_integral Uint>
[[nodiscard]] inline Uint load_le(const unsigned char* bytes) {
  Uint value = 0;
  for (std::size_t i = 0; i < sizeof(Uint); ++i) {
    value |= static_cast<Uint>(std::uint64_t{bytes[i]} << (8 * i));
  }
  return value;
}

template <std::unsigned_integral Uint>
inline void put_le(std::string& out, Uint value) {
  unsigned char bytes[sizeof(Uint)];
  store_le(bytes, value);
  out.append(reinterpret_cast<const char*>(bytes), sizeof(Uint));
}

template <std::unsigned_integral Uint>
[[nodiscard]] inline Uint get_le(std::string_view bytes, std::uint64_t offset) {
  SYNOD_ASSERT(offset <= bytes.size() && sizeof(Uint) <= bytes.size() - offset);
  return load_le<Uint>(reinterpret_cast<const unsigned char*>(bytes.data()) + offset);
}

inline void put_u8(std::string& out, std::uint8_t value) { put_le(out, value); }
inline void put_u32(std::string& out, std::uint32_t value) { put_le(out, value); }
inline void put_u64(std::string& out, std::uint64_t value) { put_le(out, value); }

[[nodiscard]] inline std::uint8_t get_u8(std::string_view bytes, std::uint64_t offset) {
  return get_le<std::uint8_t>(bytes, offset);
}
[[nodiscard]] inline std::uint32_t get_u32(std::string_view bytes, std::uint64_t offset) {
  return get_le<std::uint32_t>(bytes, offset);
}
[[nodiscard]] inline std::uint64_t get_u64(std::string_view bytes, std::uint64_t offset) {
  return get_le<std::uint64_t>(bytes, offset);
}

}  // namespace synod::base
