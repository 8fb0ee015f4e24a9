// Records of a fixed size for WAL tests, so offsets can be computed: shared
// by the MemoryDisk tests here and the PosixDisk tests in tests/unit/runtime.
#pragma once

#include <cstdint>
#include <string>

#include "server/wal/segment.h"

namespace synod::wal::testing {

inline const std::string first_segment = "wal/00000000000000000001.log";
inline constexpr std::uint64_t payload_bytes = 40;
inline constexpr std::uint64_t record_bytes = record_header_bytes + payload_bytes;

// "payload-<index>-" padded with dots to payload_bytes.
inline std::string payload_for(std::uint64_t index) {
  std::string payload = "payload-" + std::to_string(index) + "-";
  payload.resize(payload_bytes, '.');
  return payload;
}

}  // namespace synod::wal::testing
