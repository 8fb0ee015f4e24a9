#include "server/runtime/identity.h"

namespace synod::runtime {

namespace {

using wal::Identity;
using wal::IdentityMember;

std::vector<IdentityMember> members_of(const std::map<NodeId, Address>& peers) {
  std::vector<IdentityMember> members;
  for (const auto& [id, address] : peers) members.push_back({id.value(), to_string(address)});
  return members;
}

// Whether an earlier synodd left consensus state here (meta, log or snapshots).
base::CheckResult<bool> holds_data(wal::Disk& disk) {
  for (const char* dir : {"", "wal", "snap"}) {
    auto files = disk.list(dir);
    if (!files.ok()) return base::invalid(files.status().message);
    for (const std::string& file : files.value()) {
      if (std::string_view(dir).empty() && file != "meta") continue;
      return true;
    }
  }
  return false;
}

std::string describe(const std::vector<IdentityMember>& members) {
  std::string out;
  for (const IdentityMember& m : members) {
    // Appended piece by piece: GCC 12 at -O3 reports a false -Wrestrict for
    // `const char* + std::string` here.
    if (!out.empty()) out += ',';
    out += std::to_string(m.id);
    out += '=';
    out += m.peer_address;
  }
  return out;
}

base::CheckResult<SettledIdentity> found(const IdentityFlags& flags, wal::Disk& disk,
                                         std::string how) {
  if (!flags.peers.contains(flags.id)) {
    return base::invalid("--peers must include this server's own id " +
                         std::to_string(flags.id.value()));
  }
  const std::vector<IdentityMember> members = members_of(flags.peers);
  Identity identity{wal::derive_cluster_id(flags.cluster_token, members), flags.id.value(),
                    members};
  if (auto checked = wal::check_identity(identity); !checked.ok()) return checked;
  if (auto written = wal::write_identity(disk, identity); !written.ok()) {
    return base::invalid("cannot write the identity file in " + flags.data_dir + ": " +
                         written.message);
  }
  SettledIdentity settled{identity, flags.peers, {}};
  settled.notes.push_back("node " + std::to_string(flags.id.value()) + " " + how + " ensemble " +
                          std::to_string(identity.cluster_id) + " with voters " +
                          describe(members));
  return settled;
}

base::CheckResult<SettledIdentity> adopt(const IdentityFlags& flags, const Identity& identity) {
  if (identity.self != flags.id.value()) {
    return base::invalid("the data dir " + flags.data_dir + " belongs to node " +
                         std::to_string(identity.self) + ", not --id " +
                         std::to_string(flags.id.value()));
  }
  SettledIdentity settled{identity, {}, {}};
  for (const IdentityMember& m : identity.members) {
    auto address = parse_address(m.peer_address);
    if (!address.ok())
      return base::invalid("identity: member " + std::to_string(m.id) + ": " +
                           address.status().message);
    settled.peers.emplace(NodeId{m.id}, std::move(address).value());
  }
  settled.notes.push_back("node " + std::to_string(identity.self) + " is a member of ensemble " +
                          std::to_string(identity.cluster_id) + " (founders " +
                          describe(identity.members) + ", from " + flags.data_dir + "/identity)");
  if (!flags.peers.empty() && members_of(flags.peers) != identity.members) {
    settled.notes.push_back("ignoring --peers " + describe(members_of(flags.peers)) +
                            ": a persisted configuration is never overridden by flags");
  }
  return settled;
}

}  // namespace

base::CheckResult<SettledIdentity> settle_identity(const IdentityFlags& flags, wal::Disk& disk) {
  auto persisted = wal::read_identity(disk);
  if (!persisted.ok()) {
    return base::invalid("the identity file in " + flags.data_dir +
                         " is damaged: " + persisted.status().message);
  }
  if (persisted.value()) return adopt(flags, *persisted.value());
  auto data = holds_data(disk);
  if (!data.ok()) return data.status();
  if (data.value()) {
    return found(flags, disk,
                 "adopts --peers for the data dir it already holds (written before "
                 "identity files) as founding voter of");
  }
  if (!flags.bootstrap) {
    return base::invalid(
        "the data dir " + flags.data_dir +
        " is new. Pass --bootstrap to found a new ensemble with --peers (every founding server "
        "passes the same --peers), or give this server the data dir it had. A server whose disk "
        "was wiped must not rejoin as a founder: it would vote with no memory of its promises.");
  }
  return found(flags, disk, "founds");
}

}  // namespace synod::runtime
