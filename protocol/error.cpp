#include "protocol/error.h"

namespace synod::protocol {

std::string_view error_name(Error error) {
  switch (error) {
    case Error::OK: return "OK";
    case Error::NO_NODE: return "NO_NODE";
    case Error::NODE_EXISTS: return "NODE_EXISTS";
    case Error::BAD_VERSION: return "BAD_VERSION";
    case Error::NOT_EMPTY: return "NOT_EMPTY";
    case Error::NO_CHILDREN_FOR_EPHEMERALS: return "NO_CHILDREN_FOR_EPHEMERALS";
    case Error::BAD_ARGUMENTS: return "BAD_ARGUMENTS";
    case Error::TOO_LARGE: return "TOO_LARGE";
    case Error::FENCED: return "FENCED";
    case Error::SESSION_EXPIRED: return "SESSION_EXPIRED";
    case Error::COMPACTED: return "COMPACTED";
    case Error::NOT_LEADER: return "NOT_LEADER";
    case Error::SESSION_MOVED: return "SESSION_MOVED";
    case Error::TIMEOUT: return "TIMEOUT";
    case Error::CONNECTION_LOSS: return "CONNECTION_LOSS";
    case Error::UNIMPLEMENTED: return "UNIMPLEMENTED";
    case Error::ROLLED_BACK: return "ROLLED_BACK";
    case Error::NOT_EXECUTED: return "NOT_EXECUTED";
    case Error::CORRUPTED: return "CORRUPTED";
    case Error::LIMIT_EXCEEDED: return "LIMIT_EXCEEDED";
  }
  return "UNKNOWN_ERROR";
}

}  // namespace synod::protocol
