#include "server/wal/identity.h"

#include <doctest/doctest.h>

#include "server/wal/memory_disk.h"

using namespace synod;
using wal::Code;
using wal::Identity;
using wal::IdentityMember;
using wal::MemoryDisk;

namespace {

std::vector<IdentityMember> founders() {
  return {{1, "127.0.0.1:7101"}, {2, "127.0.0.1:7102"}, {3, "127.0.0.1:7103"}};
}

Identity identity_of(std::uint32_t self) {
  return Identity{wal::derive_cluster_id("synod", founders()), self, founders()};
}

}  // namespace

TEST_CASE(
    "identity: founders agree on the cluster id without talking; another token or "
    "membership is another cluster") {
  std::vector<IdentityMember> shuffled = {founders()[2], founders()[0], founders()[1]};
  CHECK(wal::derive_cluster_id("synod", founders()) == wal::derive_cluster_id("synod", shuffled));
  CHECK(wal::derive_cluster_id("synod", founders()) != wal::derive_cluster_id("other", founders()));
  std::vector<IdentityMember> moved = founders();
  moved[1].peer_address = "127.0.0.1:7202";
  CHECK(wal::derive_cluster_id("synod", founders()) != wal::derive_cluster_id("synod", moved));
  CHECK(wal::derive_cluster_id("", {}) != 0);
}

TEST_CASE("identity: a written identity reads back; a new data dir has none") {
  MemoryDisk disk;
  auto none = wal::read_identity(disk);
  REQUIRE(none.ok());
  CHECK_FALSE(none.value().has_value());
  REQUIRE(wal::write_identity(disk, identity_of(2)).ok());
  auto read = wal::read_identity(disk);
  REQUIRE(read.ok());
  REQUIRE(read.value().has_value());
  CHECK(*read.value() == identity_of(2));
  CHECK_FALSE(disk.exists("identity.tmp"));
  CHECK_FALSE(disk.exists("meta"));  // its own file: meta is untouched
}

TEST_CASE("identity: a flipped byte anywhere is fatal and names the file and the offset") {
  MemoryDisk disk;
  REQUIRE(wal::write_identity(disk, identity_of(1)).ok());
  const std::uint64_t size = disk.contents("identity").size();
  for (std::uint64_t offset = 0; offset < size; ++offset) {
    CAPTURE(offset);
    MemoryDisk damaged = disk;
    damaged.corrupt("identity", offset);
    auto read = wal::read_identity(damaged);
    REQUIRE_FALSE(read.ok());
    CHECK(read.status().error == Code::corrupt);
    CHECK(read.status().message.starts_with("identity: "));
    CHECK(read.status().message.find(" at offset ") != std::string::npos);
  }
}

TEST_CASE("identity: blobs that pass the checksum but break a rule are refused by name") {
  Identity bad = identity_of(4);  // not a member
  CHECK(wal::check_identity(bad).message == "server 4 is not one of the members");
  bad = identity_of(1);
  std::swap(bad.members[0], bad.members[1]);
  CHECK_FALSE(wal::check_identity(bad).ok());
  bad = identity_of(1);
  bad.cluster_id = 0;
  CHECK_FALSE(wal::check_identity(bad).ok());
  // A blob cut short or with trailing bytes.
  const std::string blob = wal::encode_identity(identity_of(1));
  CHECK(wal::decode_identity(blob).ok());
  CHECK(wal::decode_identity(blob.substr(0, blob.size() - 1)).status().error == Code::corrupt);
  CHECK(wal::decode_identity(blob + "x").status().message.find("trailing bytes") !=
        std::string::npos);
}
