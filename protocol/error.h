// Error codes and result types of the client protocol, shared by both ends:
// the store answers with them, the codec carries them (proto/store.fbs
// Error), the client library reports them.
//
// Error's numeric values are part of the protocol: proto/store.fbs mirrors
// them, so a value is never renumbered or reused; new errors are appended.
// Expected outcomes are values (STYLE.md habit 4): every function that can
// fail returns a [[nodiscard]] Status or Result<T>; no exception crosses the
// protocol's or the store's API.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "base/assert.h"
#include "base/status.h"

namespace synod::protocol {

enum class Error : std::int32_t {
  OK = 0,
  NO_NODE = 1,                     // the node (or a parent) does not exist
  NODE_EXISTS = 2,                 // create of a path that exists
  BAD_VERSION = 3,                 // expected version differs from the node's
  NOT_EMPTY = 4,                   // delete of a node that has children
  NO_CHILDREN_FOR_EPHEMERALS = 5,  // create under an ephemeral node
  BAD_ARGUMENTS = 6,               // malformed path, flags, limits of one request
  TOO_LARGE = 7,                   // data above StoreConfig::data_bytes_max
  FENCED = 8,                      // fence node missing or its czxid != token
  SESSION_EXPIRED = 9,             // unknown, closed or expired session
  COMPACTED = 10,                  // history before this zxid is gone
  NOT_LEADER = 11,                 // this server cannot order writes now
  SESSION_MOVED = 12,              // the session is attached to another server
  TIMEOUT = 13,                    // no answer within the request's deadline
  CONNECTION_LOSS = 14,            // the connection broke; outcome unknown
  UNIMPLEMENTED = 15,              // a request kind this server does not serve
  ROLLED_BACK = 16,                // multi: this op would have succeeded; undone
  NOT_EXECUTED = 17,               // multi: this op came after the failing one
  CORRUPTED = 18,                  // a snapshot failed its checksum or checks
  LIMIT_EXCEEDED = 19,             // a store-wide limit (nodes_max, sessions_max)
};

// The highest value defined; error_name() knows every value up to it.
inline constexpr Error error_last = Error::LIMIT_EXCEEDED;

// "NO_NODE" for Error::NO_NODE; "UNKNOWN_ERROR" for a value not defined above
// (e.g. one decoded from a newer peer).
[[nodiscard]] std::string_view error_name(Error error);

// The protocol's pair of the one error idiom (base/status.h): `error` one
// of the values above, `message` a sentence for people.
using Status = base::Status<Error>;
template <class T>
using Result = base::Result<T, Error>;

[[nodiscard]] inline Status ok_status() { return Status{}; }
[[nodiscard]] inline Status error_status(Error error, std::string message) {
  SYNOD_ASSERT(error != Error::OK);
  return Status{error, std::move(message)};
}

}  // namespace synod::protocol
