// CRC32C (Castagnoli, polynomial 0x1EDC6F41, reflected 0x82F63B78), as used
// by iSCSI (RFC 3720) and by every record Synod writes to disk.
//
// crc32c(data) uses the SSE4.2 crc32 instruction when the CPU has it and a
// table otherwise; both give identical results (tests/unit/base). extend()
// continues a running checksum, so a record may be summed in pieces.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

namespace synod::base {

namespace crc32c_detail {

constexpr std::array<std::uint32_t, 256> make_table() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t crc = i;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ ((crc & 1u) ? 0x82F63B78u : 0u);
    table[i] = crc;
  }
  return table;
}

inline constexpr std::array<std::uint32_t, 256> table = make_table();

inline std::uint32_t extend_table(std::uint32_t crc, const unsigned char* p, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) crc = table[(crc ^ p[i]) & 0xFFu] ^ (crc >> 8);
  return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) inline std::uint32_t extend_hw(std::uint32_t crc,
                                                                 const unsigned char* p,
                                                                 std::size_t n) {
  std::uint64_t c = crc;
  while (n >= 8) {
    std::uint64_t word;
    std::memcpy(&word, p, 8);
    c = __builtin_ia32_crc32di(c, word);
    p += 8;
    n -= 8;
  }
  auto c32 = static_cast<std::uint32_t>(c);
  while (n > 0) {
    c32 = __builtin_ia32_crc32qi(c32, *p);
    ++p;
    --n;
  }
  return c32;
}

inline bool has_hw() {
  static const bool supported = __builtin_cpu_supports("sse4.2");
  return supported;
}
#else
inline bool has_hw() { return false; }
inline std::uint32_t extend_hw(std::uint32_t crc, const unsigned char* p, std::size_t n) {
  return extend_table(crc, p, n);
}
#endif

}  // namespace crc32c_detail

// Continue `crc` (a finished CRC32C value, 0 for "nothing yet") over bytes.
inline std::uint32_t crc32c_extend(std::uint32_t crc, const void* data, std::size_t size,
                                   bool allow_hardware = true) {
  const auto* p = static_cast<const unsigned char*>(data);
  std::uint32_t state = ~crc;
  state = allow_hardware && crc32c_detail::has_hw()
              ? crc32c_detail::extend_hw(state, p, size)
              : crc32c_detail::extend_table(state, p, size);
  return ~state;
}

inline std::uint32_t crc32c(const void* data, std::size_t size) {
  return crc32c_extend(0, data, size);
}

inline std::uint32_t crc32c(std::string_view bytes) { return crc32c(bytes.data(), bytes.size()); }

inline std::uint32_t crc32c(std::span<const std::byte> bytes) {
  return crc32c(bytes.data(), bytes.size());
}

}  // namespace synod::base
