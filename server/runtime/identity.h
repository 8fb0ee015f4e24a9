// Settling who a data dir belongs to before synodd writes anything else
// (server/wal/identity.h has the file). Plain C++ over the Disk port; no Asio.
//
//   new data dir, --bootstrap   founds an ensemble: the identity is derived
//                               from --cluster-token and --peers (every
//                               founder passes the same) and written first
//   new data dir, no --bootstrap refused: the server would otherwise vote
//                               with promise 0 in a configuration taken
//                               from flags, and a wiped disk could help
//                               choose a second value for a chosen slot
//   data dir with an identity   the persisted members and addresses are
//                               used; --peers, if given and different, is
//                               ignored with a sentence; a different --id
//                               is refused
//   data dir with data but no   written by a synodd from before identity
//   identity                    files: --peers is adopted as its founding
//                               configuration, once, with a sentence
#pragma once

#include <map>
#include <string>
#include <vector>

#include "base/ids.h"
#include "base/status.h"
#include "server/runtime/runtime.h"
#include "server/wal/disk.h"
#include "server/wal/identity.h"

namespace synod::runtime {

struct IdentityFlags {
  NodeId id{};
  std::map<NodeId, Address> peers;  // --peers; may be empty once an identity exists
  bool bootstrap = false;
  std::string cluster_token = "synod";
  std::string data_dir;  // for sentences only
};

struct SettledIdentity {
  wal::Identity identity;
  std::map<NodeId, Address> peers;  // the members' peer addresses, from the identity
  std::vector<std::string> notes;   // sentences for the log
};

// Invalid (a sentence saying what to do) when the server must not start.
[[nodiscard]] base::CheckResult<SettledIdentity> settle_identity(const IdentityFlags& flags,
                                                                 wal::Disk& disk);

}  // namespace synod::runtime
