// How server/wal reports expected failures: the one error idiom of the
// deterministic layers (base/status.h) over wal::Code.
//
// No exception crosses the wal API (STYLE.md habit 4). An operation either
// succeeds or returns a Status whose code is for programs and whose message
// is for humans (LogCabin's Tree::Result). A `corrupt` message always names
// the file and the byte offset, e.g.
//   "wal/00000000000000000042.log: bad checksum at offset 8192".
// Broken invariants (a caller passing an index the contract rules out) are
// SYNOD_ASSERTs, not Statuses.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "base/assert.h"
#include "base/status.h"

namespace synod::wal {

enum class Code : std::uint8_t {
  ok,
  // Bytes on disk fail a check (magic, version, checksum, length, sequence).
  // Fatal for recovery: the operator must look (DESIGN.md, On disk).
  corrupt,
  // The Disk port failed (EIO, ENOSPC, ...). After a failed sync the data's
  // state is unknown, so the Wal refuses further work (see wal.h).
  io_error,
  // A named file does not exist.
  not_found,
  // An argument exceeds a named limit (record_bytes_max, unsynced_bytes_max,
  // meta_bytes_max, snapshot_bytes_max). Nothing was written.
  too_large,
  // A Wal that saw an io_error refuses every later call.
  failed,
};

[[nodiscard]] constexpr const char* to_string(Code code) {
  switch (code) {
    case Code::ok: return "ok";
    case Code::corrupt: return "corrupt";
    case Code::io_error: return "io_error";
    case Code::not_found: return "not_found";
    case Code::too_large: return "too_large";
    case Code::failed: return "failed";
  }
  return "unknown";
}

// The wal's pair of the one error idiom (base/status.h): `error` one of the
// codes above, `message` a sentence (for corrupt: file and offset).
using Status = base::Status<Code>;
template <class T>
using Result = base::Result<T, Code>;

// An error Status; asserts that it is one and that it says why.
[[nodiscard]] inline Status error_status(Code code, std::string message) {
  SYNOD_ASSERT_MSG(code != Code::ok, "an error Status needs an error code");
  SYNOD_ASSERT(!message.empty());
  return Status{code, std::move(message)};
}

}  // namespace synod::wal
