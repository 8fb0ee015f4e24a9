// proto::Error mirrors protocol::Error number for number, and so do the other
// enums the wire shares with our types (protocol/error.h, types.h).
#include <doctest/doctest.h>

#include "consensus/types.h"
#include "proto/client_generated.h"
#include "proto/peer_generated.h"
#include "protocol/codec.h"
#include "protocol/error.h"
#include "protocol/types.h"

using namespace synod;

namespace {
template <class A, class B>
constexpr bool same(A a, B b) {
  return static_cast<long long>(a) == static_cast<long long>(b);
}
}  // namespace

TEST_CASE("codec: proto::Error has protocol::Error's numbers, value for value") {
  using E = protocol::Error;
  using P = proto::Error;
  static_assert(same(P::OK, E::OK) && same(P::OK, 0));
  static_assert(same(P::NO_NODE, E::NO_NODE) && same(P::NO_NODE, 1));
  static_assert(same(P::NODE_EXISTS, E::NODE_EXISTS) && same(P::NODE_EXISTS, 2));
  static_assert(same(P::BAD_VERSION, E::BAD_VERSION) && same(P::BAD_VERSION, 3));
  static_assert(same(P::NOT_EMPTY, E::NOT_EMPTY) && same(P::NOT_EMPTY, 4));
  static_assert(same(P::NO_CHILDREN_FOR_EPHEMERALS, E::NO_CHILDREN_FOR_EPHEMERALS) &&
                same(P::NO_CHILDREN_FOR_EPHEMERALS, 5));
  static_assert(same(P::BAD_ARGUMENTS, E::BAD_ARGUMENTS) && same(P::BAD_ARGUMENTS, 6));
  static_assert(same(P::TOO_LARGE, E::TOO_LARGE) && same(P::TOO_LARGE, 7));
  static_assert(same(P::FENCED, E::FENCED) && same(P::FENCED, 8));
  static_assert(same(P::SESSION_EXPIRED, E::SESSION_EXPIRED) && same(P::SESSION_EXPIRED, 9));
  static_assert(same(P::COMPACTED, E::COMPACTED) && same(P::COMPACTED, 10));
  static_assert(same(P::NOT_LEADER, E::NOT_LEADER) && same(P::NOT_LEADER, 11));
  static_assert(same(P::SESSION_MOVED, E::SESSION_MOVED) && same(P::SESSION_MOVED, 12));
  static_assert(same(P::TIMEOUT, E::TIMEOUT) && same(P::TIMEOUT, 13));
  static_assert(same(P::CONNECTION_LOSS, E::CONNECTION_LOSS) && same(P::CONNECTION_LOSS, 14));
  static_assert(same(P::UNIMPLEMENTED, E::UNIMPLEMENTED) && same(P::UNIMPLEMENTED, 15));
  static_assert(same(P::ROLLED_BACK, E::ROLLED_BACK) && same(P::ROLLED_BACK, 16));
  static_assert(same(P::NOT_EXECUTED, E::NOT_EXECUTED) && same(P::NOT_EXECUTED, 17));
  static_assert(same(P::CORRUPTED, E::CORRUPTED) && same(P::CORRUPTED, 18));
  static_assert(same(P::LIMIT_EXCEEDED, E::LIMIT_EXCEEDED) && same(P::LIMIT_EXCEEDED, 19));
  // A store error added without its wire twin fails here.
  static_assert(same(P::MAX, protocol::error_last));
  // And the names agree, so a renaming on one side is caught too.
  for (int v = 0; v <= static_cast<int>(protocol::error_last); ++v) {
    CHECK(std::string_view(proto::EnumNameError(static_cast<P>(v))) ==
          protocol::error_name(static_cast<E>(v)));
  }
}

TEST_CASE("codec: the other shared enums keep their numbers") {
  static_assert(same(proto::NodeKind::persistent, protocol::NodeKind::persistent));
  static_assert(same(proto::NodeKind::ephemeral, protocol::NodeKind::ephemeral));
  static_assert(same(proto::NodeKind::container, protocol::NodeKind::container));
  static_assert(same(proto::NodeKind::ttl, protocol::NodeKind::ttl));
  static_assert(same(proto::NodeKind::MAX, protocol::node_kind_last));
  static_assert(same(proto::MissingParents::fail, protocol::MissingParents::fail));
  static_assert(
      same(proto::MissingParents::create_persistent, protocol::MissingParents::create_persistent));
  static_assert(
      same(proto::MissingParents::create_container, protocol::MissingParents::create_container));
  static_assert(same(proto::EntryKind::noop, consensus::EntryKind::noop));
  static_assert(same(proto::EntryKind::command, consensus::EntryKind::command));
  static_assert(same(proto::EntryKind::config, consensus::EntryKind::config));
  static_assert(same(proto::EventType::created, protocol::EventType::created));
  static_assert(same(proto::EventType::deleted, protocol::EventType::deleted));
  static_assert(same(proto::EventType::data_changed, protocol::EventType::data_changed));
  static_assert(same(proto::EventType::children_changed, protocol::EventType::children_changed));
  static_assert(same(proto::ReadMode::sequential, protocol::ReadMode::sequential));
  static_assert(same(proto::WatchKind::data, protocol::WatchKind::data));
  static_assert(
      same(proto::WatchKind::persistent_recursive, protocol::WatchKind::persistent_recursive));
  static_assert(same(proto::SessionState::closed, protocol::SessionState::closed));
}
