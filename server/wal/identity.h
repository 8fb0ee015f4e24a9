// data_dir/identity: who this data dir belongs to, written once when the
// server founds an ensemble (synodd --bootstrap) and never rewritten by
// flags afterwards. It holds the cluster id that every peer connection
// checks (two ensembles never mix traffic), this server's id, and the
// founding configuration with the members' peer addresses, so a restart
// never takes its membership from flags and a wiped disk cannot rejoin as if
// it were a founder with promise 0 (DESIGN.md "On disk").
//
// ## Layout
// Framed like meta (meta.h: magic "SYID", version 1, length, CRC32C), the
// blob little-endian:
//
//   u64 cluster id   nonzero
//   u32 self         this server's id, nonzero, one of the members
//   u32 count        members, in [1, identity_members_max], ids ascending
//   count x { u32 id (nonzero), u16 length, length bytes of HOST:PORT }
//
// ## Crash windows
// Written with write_framed (identity.tmp, sync, rename, sync dir) before
// anything else is written to a new data dir: a crash before the rename
// leaves no identity (and possibly identity.tmp, which read_identity()
// ignores and the next write replaces), so the server is still new.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "server/wal/disk.h"
#include "server/wal/meta.h"
#include "server/wal/status.h"

namespace synod::wal {

inline constexpr std::string_view identity_name = "identity";
inline constexpr std::string_view identity_temp_name = "identity.tmp";
inline constexpr std::uint32_t identity_magic = 0x44495953u;  // "SYID" as little-endian bytes
inline constexpr FramedFile identity_file{identity_name, identity_temp_name, identity_magic};
inline constexpr std::size_t identity_members_max = 255;
inline constexpr std::size_t identity_address_bytes_max = 1024;

struct IdentityMember {
  std::uint32_t id = 0;
  std::string peer_address;  // HOST:PORT
  friend bool operator==(const IdentityMember&, const IdentityMember&) = default;
};

struct Identity {
  std::uint64_t cluster_id = 0;
  std::uint32_t self = 0;
  std::vector<IdentityMember> members;  // ids ascending
  friend bool operator==(const Identity&, const Identity&) = default;
};

// The cluster id the founders of one ensemble agree on without talking: a
// stable hash of `token` and the founding members (ids and addresses), like
// etcd's --initial-cluster-token. Never 0.
[[nodiscard]] std::uint64_t derive_cluster_id(std::string_view token,
                                              const std::vector<IdentityMember>& members);

// Ok when the fields are in range (see Layout); invalid names the first bad one.
[[nodiscard]] base::CheckStatus check_identity(const Identity& identity);

[[nodiscard]] std::string encode_identity(const Identity& identity);  // asserts check_identity
[[nodiscard]] Result<Identity> decode_identity(std::string_view blob);

// Writes it durably (see Crash windows). The identity must pass
// check_identity (asserted: the caller checks flags before).
[[nodiscard]] Status write_identity(Disk& disk, const Identity& identity);
// The persisted identity, none if it was never written; corrupt names the
// file and offset.
[[nodiscard]] Result<std::optional<Identity>> read_identity(Disk& disk);

}  // namespace synod::wal
