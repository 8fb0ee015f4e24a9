// Status<Code> and Result<T, Code>: the one error idiom of the deterministic
// layers (base, consensus, protocol, store, wal, codec, replica, client/core;
// STYLE.md habit 4).
//
//   - An expected failure is a value. A function that can fail returns a
//     [[nodiscard]] Status (nothing to give back) or Result<T> (a T, or the
//     Status saying why there is none). No exception crosses these layers.
//   - Code is the layer's enum of outcomes, with its zero value meaning ok:
//     protocol::Error for what a client is told (the wire carries it), and
//     wal::Code for what a disk did. Each layer names its pair once:
//       using Status = base::Status<Error>;
//       template <class T> using Result = base::Result<T, Error>;
//   - `error` is for programs, `message` for people: a sentence that names
//     what was wrong (a `corrupt` disk message names file and offset). It is
//     empty exactly when the status is ok, for statuses this code makes;
//     one decoded from the wire is taken as it came.
//   - A broken invariant (a caller breaking a contract) is a SYNOD_ASSERT,
//     never a Status.
//
// The Asio layers (server/runtime, client/, cli/) have their own idiom: see
// server/runtime/runtime.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "base/assert.h"

namespace synod::base {

template <class Code>
struct [[nodiscard]] Status {
  Code error{};         // Code{} is ok
  std::string message;  // a sentence for people; empty when ok

  [[nodiscard]] bool ok() const { return error == Code{}; }
  friend bool operator==(const Status&, const Status&) = default;
};

// A T, or a Status that is not ok (never both, never neither).
template <class T, class Code>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}               // NOLINT(implicit)
  Result(Status<Code> status) : status_(std::move(status)) {  // NOLINT(implicit)
    SYNOD_ASSERT_MSG(!status_.ok(), "a Result without a value needs an error");
  }

  [[nodiscard]] bool ok() const { return value_.has_value(); }
  [[nodiscard]] Code error() const { return status_.error; }
  // The error; an ok Status when there is a value.
  [[nodiscard]] const Status<Code>& status() const { return status_; }

  // The value; asserts ok(). Move it out with std::move(result).value().
  [[nodiscard]] const T& value() const& {
    SYNOD_ASSERT_MSG(ok(), "value() on an error Result");
    return *value_;
  }
  [[nodiscard]] T& value() & {
    SYNOD_ASSERT_MSG(ok(), "value() on an error Result");
    return *value_;
  }
  [[nodiscard]] T&& value() && {
    SYNOD_ASSERT_MSG(ok(), "value() on an error Result");
    return std::move(*value_);
  }

 private:
  Status<Code> status_;
  std::optional<T> value_;
};

// The pair for a check that has no richer vocabulary than ok or not: an
// options struct's validate(), a flag's parser. The message names what is
// wrong and the bound it breaks ("--peers names no server").
enum class Check : std::uint8_t { ok = 0, invalid = 1 };
using CheckStatus = Status<Check>;
template <class T>
using CheckResult = Result<T, Check>;

[[nodiscard]] inline CheckStatus invalid(std::string why) {
  SYNOD_ASSERT_MSG(!why.empty(), "an invalid check says why");
  return CheckStatus{Check::invalid, std::move(why)};
}

}  // namespace synod::base
