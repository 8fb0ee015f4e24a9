#include "server/wal/identity.h"

#include <algorithm>

#include "base/assert.h"
#include "base/hash.h"
#include "base/little_endian.h"

namespace synod::wal {

namespace {

Status corrupt(const std::string& what) {
  return error_status(Code::corrupt, std::string(identity_name) + ": " + what);
}

// A bounds-checked cursor over the blob; every failure names the offset
// (the blob's offsets are the file's minus meta_header_bytes).
class Cursor {
 public:
  explicit Cursor(std::string_view bytes) : bytes_(bytes) {}
  bool has(std::uint64_t n) const { return bytes_.size() - at_ >= n; }
  std::uint64_t at() const { return meta_header_bytes + at_; }
  std::uint16_t u16() {
    const auto v = base::get_le<std::uint16_t>(bytes_, at_);
    at_ += 2;
    return v;
  }
  std::uint32_t u32() {
    const auto v = base::get_u32(bytes_, at_);
    at_ += 4;
    return v;
  }
  std::uint64_t u64() {
    const auto v = base::get_u64(bytes_, at_);
    at_ += 8;
    return v;
  }
  std::string text(std::uint64_t n) {
    std::string v(bytes_.substr(at_, n));
    at_ += n;
    return v;
  }
  bool done() const { return at_ == bytes_.size(); }

 private:
  std::string_view bytes_;
  std::uint64_t at_ = 0;
};

Result<IdentityMember> read_member(Cursor& in) {
  if (!in.has(6)) return corrupt("a member is cut short at offset " + std::to_string(in.at()));
  IdentityMember m;
  m.id = in.u32();
  const std::uint16_t length = in.u16();
  if (!in.has(length)) {
    return corrupt("a member's address is cut short at offset " + std::to_string(in.at()));
  }
  m.peer_address = in.text(length);
  return m;
}

}  // namespace

std::uint64_t derive_cluster_id(std::string_view token,
                                const std::vector<IdentityMember>& members) {
  base::Hash64 h;
  h.bytes("synod cluster").bytes(token);
  std::vector<IdentityMember> sorted = members;
  std::sort(sorted.begin(), sorted.end(),
            [](const IdentityMember& a, const IdentityMember& b) { return a.id < b.id; });
  for (const IdentityMember& m : sorted) h.u64(m.id).bytes(m.peer_address);
  const std::uint64_t id = h.finish();
  return id == 0 ? 1 : id;
}

base::CheckStatus check_identity(const Identity& identity) {
  if (identity.cluster_id == 0) return base::invalid("the cluster id is 0");
  if (identity.self == 0) return base::invalid("the server id is 0");
  if (identity.members.empty() || identity.members.size() > identity_members_max) {
    return base::invalid("an identity holds 1 to " + std::to_string(identity_members_max) +
                         " members, not " + std::to_string(identity.members.size()));
  }
  bool self_found = false;
  for (std::size_t i = 0; i < identity.members.size(); ++i) {
    const IdentityMember& m = identity.members[i];
    if (m.id == 0) return base::invalid("a member's id is 0");
    if (i > 0 && m.id <= identity.members[i - 1].id) {
      return base::invalid("member ids are not ascending at member " + std::to_string(m.id));
    }
    if (m.peer_address.empty() || m.peer_address.size() > identity_address_bytes_max) {
      return base::invalid("member " + std::to_string(m.id) + " has no usable peer address");
    }
    self_found = self_found || m.id == identity.self;
  }
  if (!self_found) {
    return base::invalid("server " + std::to_string(identity.self) + " is not one of the members");
  }
  return {};
}

std::string encode_identity(const Identity& identity) {
  SYNOD_ASSERT(check_identity(identity).ok());
  std::string out;
  base::put_u64(out, identity.cluster_id);
  base::put_u32(out, identity.self);
  base::put_u32(out, static_cast<std::uint32_t>(identity.members.size()));
  for (const IdentityMember& m : identity.members) {
    base::put_u32(out, m.id);
    base::put_le<std::uint16_t>(out, static_cast<std::uint16_t>(m.peer_address.size()));
    out.append(m.peer_address);
  }
  return out;
}

Result<Identity> decode_identity(std::string_view blob) {
  Cursor in(blob);
  if (!in.has(16)) return corrupt("the blob is cut short at offset " + std::to_string(in.at()));
  Identity identity;
  identity.cluster_id = in.u64();
  identity.self = in.u32();
  const std::uint32_t count = in.u32();
  if (count > identity_members_max) {
    return corrupt(std::to_string(count) + " members at offset " +
                   std::to_string(meta_header_bytes + 12) + " exceed identity_members_max");
  }
  for (std::uint32_t i = 0; i < count; ++i) {
    auto member = read_member(in);
    if (!member.ok()) return member.status();
    identity.members.push_back(std::move(member).value());
  }
  if (!in.done()) return corrupt("trailing bytes at offset " + std::to_string(in.at()));
  if (auto checked = check_identity(identity); !checked.ok()) return corrupt(checked.message);
  return identity;
}

Status write_identity(Disk& disk, const Identity& identity) {
  return write_framed(disk, identity_file, encode_identity(identity));
}

Result<std::optional<Identity>> read_identity(Disk& disk) {
  auto blob = read_framed(disk, identity_file);
  if (!blob.ok()) return blob.status();
  if (!blob.value()) return std::optional<Identity>{};
  auto identity = decode_identity(*blob.value());
  if (!identity.ok()) return identity.status();
  return std::optional<Identity>{std::move(identity).value()};
}

}  // namespace synod::wal
