// Status and Result<T>: how server/wal reports expected failures.
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
#include <variant>

#include "base/assert.h"

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

class [[nodiscard]] Status {
 public:
  Status() = default;  // ok
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {
    SYNOD_ASSERT_MSG(code != Code::ok, "an error Status needs an error code");
    SYNOD_ASSERT(!message_.empty());
  }

  [[nodiscard]] bool ok() const { return code_ == Code::ok; }
  [[nodiscard]] Code code() const { return code_; }
  [[nodiscard]] const std::string& message() const { return message_; }

 private:
  Code code_ = Code::ok;
  std::string message_;
};

// Result<T>: a T, or an error Status (never an ok Status without a value).
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status error) : state_(std::move(error)) {  // NOLINT: implicit by design
    SYNOD_ASSERT_MSG(!std::get<Status>(state_).ok(), "Result needs a value or an error");
  }

  [[nodiscard]] bool ok() const { return std::holds_alternative<T>(state_); }

  // The error; an ok Status when there is a value.
  [[nodiscard]] Status status() const {
    if (ok()) return Status{};
    return std::get<Status>(state_);
  }

  // The value. Calling these on an error is a broken invariant.
  [[nodiscard]] T& value() & {
    SYNOD_ASSERT_MSG(ok(), "value() on an error Result");
    return std::get<T>(state_);
  }
  [[nodiscard]] const T& value() const& {
    SYNOD_ASSERT_MSG(ok(), "value() on an error Result");
    return std::get<T>(state_);
  }
  [[nodiscard]] T take() {
    SYNOD_ASSERT_MSG(ok(), "take() on an error Result");
    return std::move(std::get<T>(state_));
  }

 private:
  std::variant<T, Status> state_;
};

}  // namespace synod::wal
