// ClientId: one client attached to this server, as the watch registry and the
// replica's connection bookkeeping name it. It is local to this server (watches
// are not replicated, DESIGN.md "Store"), so it never appears in the log.
#pragma once

#include <cstdint>

#include "base/ids.h"

namespace synod::replica {

// Assigned by the replica when a client attaches; it must not be reused for
// another client while the registry still holds registrations under it (call
// WatchRegistry::remove_client first). 0 is a valid value; the registry gives
// it no special meaning.
using ClientId = StrongId<struct ClientIdTag, std::uint64_t>;

}  // namespace synod::replica
