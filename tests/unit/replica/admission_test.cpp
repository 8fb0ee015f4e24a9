// Admission (admission.h): a write the WAL, a frame or the store would
// refuse later is answered at once and never reaches consensus.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "base/prng.h"
#include "server/codec/peer.h"
#include "server/replica/admission.h"
#include "tests/unit/replica/single_replica.h"

using namespace synod;
using replica::ClientId;
using testing::create;
using testing::path;
using testing::set;
using testing::SingleReplica;

namespace {

protocol::MultiRequest multi_of_sets(std::size_t ops, std::size_t data_bytes) {
  protocol::MultiRequest m;
  for (std::size_t i = 0; i < ops; ++i) {
    protocol::SetOp op;
    op.path = path("/big");
    op.data = std::string(data_bytes, 'm');
    m.ops.push_back(protocol::MultiOp{op, std::nullopt});
  }
  return m;
}

}  // namespace

TEST_CASE("admission: a set far above data_bytes_max is refused TOO_LARGE and the leader lives") {
  SingleReplica s;
  s.lead();
  const ClientId client{1};
  (void)s.open_session(client, 1);
  REQUIRE(s.request(client, 2, create("/big", "")).status.ok());
  const Slot log_end = s.replica->core().log_end();
  // 16.5 MiB fits a client frame but not a WAL record: it used to kill the
  // leader ("the disk failed to write").
  auto r = s.request(client, 3, set("/big", std::string((std::size_t{33} << 20) / 2, 'v')));
  CHECK(r.status.error == protocol::Error::TOO_LARGE);
  CHECK_FALSE(s.replica->fatal());
  CHECK(s.replica->core().log_end() == log_end);  // nothing was proposed
  CHECK(s.request(client, 4, set("/big", "small")).status.ok());
}

TEST_CASE("admission: a multi whose ops each fit but whose total does not is refused TOO_LARGE") {
  SingleReplica s;
  s.lead();
  const ClientId client{1};
  (void)s.open_session(client, 1);
  REQUIRE(s.request(client, 2, create("/big", "")).status.ok());
  const Slot log_end = s.replica->core().log_end();
  auto r = s.request(client, 3, multi_of_sets(20, protocol::data_bytes_max_default));
  CHECK(r.status.error == protocol::Error::TOO_LARGE);
  CHECK_FALSE(s.replica->fatal());
  CHECK(s.replica->core().log_end() == log_end);
  // Just under the limit is admitted and applies.
  const std::size_t fits = replica::command_bytes_max / protocol::data_bytes_max_default - 1;
  CHECK(s.request(client, 4, multi_of_sets(fits, protocol::data_bytes_max_default)).status.ok());
}

TEST_CASE("admission: too many ops in a multi are BAD_ARGUMENTS before anything is proposed") {
  codec::LogCommand command{0, SessionId{1}, 1,
                            store::MultiCommand{SessionId{1}, std::nullopt, {}}};
  auto& ops = std::get<store::MultiCommand>(command.command).ops;
  for (std::size_t i = 0; i <= protocol::multi_ops_max; ++i) {
    ops.push_back(protocol::MultiOp{protocol::CheckOp{path("/a"), std::nullopt}, std::nullopt});
  }
  CHECK(replica::admit_write(command, store::StoreConfig{}).error ==
        protocol::Error::BAD_ARGUMENTS);
  ops.pop_back();
  CHECK(replica::admit_write(command, store::StoreConfig{}).ok());
}

TEST_CASE("admission: the cheap bound covers what encode_command really writes") {
  base::Prng prng(14);
  for (int round = 0; round < 300; ++round) {
    store::MultiCommand multi{SessionId{prng.range(1, 1u << 30)}, std::nullopt, {}};
    const std::size_t ops = prng.range(0, 40);
    for (std::size_t i = 0; i < ops; ++i) {
      const std::string p = "/" + std::string(prng.range(1, 300), 'p');
      protocol::MultiOp op{protocol::DeleteOp{path(p.c_str()), std::nullopt}, std::nullopt};
      if (prng.below(2) == 0) {
        op.op = protocol::CreateOp{path(p.c_str()),
                                   std::string(prng.range(0, 5000), 'd'),
                                   protocol::NodeKind::ttl,
                                   true,
                                   5,
                                   {}};
      }
      if (prng.below(3) == 0) op.fence = protocol::Fence{path(p.c_str()), Zxid{prng.next_u64()}};
      multi.ops.push_back(std::move(op));
    }
    const codec::LogCommand command{store::log_time_ms_max, SessionId{prng.next_u64() >> 2},
                                    prng.next_u64(), multi};
    const replica::CommandPayload payload = replica::command_payload(command.command);
    const std::size_t bound =
        payload.bytes + replica::command_fixed_bytes + replica::command_op_bytes * payload.ops;
    CAPTURE(round);
    CHECK(codec::encode_command(command).size() <= bound);
  }
}

TEST_CASE("admission: a store limit above what one log entry can hold is refused at open") {
  replica::ReplicaOptions o = testing::single_options();
  o.store.data_bytes_max = replica::data_bytes_max_admitted;
  CHECK(o.validate().ok());
  o.store.data_bytes_max = replica::data_bytes_max_admitted + 1;
  CHECK_FALSE(o.validate().ok());
}

TEST_CASE("admission: a leader batches writes so one WAL append stays within its unsynced budget") {
  replica::ReplicaOptions o = testing::single_options();
  o.wal.unsynced_bytes_max = wal::unsynced_bytes_max_min;
  SingleReplica s(o);
  s.lead();
  const ClientId client{1};
  (void)s.open_session(client, 1);
  REQUIRE(s.request(client, 2, create("/big", "")).status.ok());
  // One turn of the loop brings 40 MiB of writes: more than may be unsynced.
  s.received.clear();
  constexpr std::uint64_t writes = 40;
  for (std::uint64_t i = 0; i < writes; ++i) {
    s.replica->on_request(client, protocol::ClientRequest{
                                      10 + i, set("/big", std::string(std::size_t{1} << 20, 'b'))});
  }
  s.settle();
  CHECK_FALSE(s.replica->fatal());
  std::uint64_t ok = 0;
  for (const auto& m : s.received) {
    const auto* r = std::get_if<protocol::Response>(&m.message);
    if (r != nullptr && r->status.ok()) ++ok;
  }
  CHECK(ok == writes);
}

TEST_CASE("admission: a quota the snapshot file cannot hold is refused at open") {
  replica::ReplicaOptions o = testing::single_options();
  o.store.bytes_max =
      replica::store_snapshot_bytes_max - store::snapshot_session_bytes * o.store.sessions_max;
  CHECK(o.validate().ok());
  o.store.bytes_max += 1;
  CHECK_FALSE(o.validate().ok());
  o.store.sessions_max = ~std::size_t{0};  // no overflow in the check
  o.store.bytes_max = 1;
  CHECK_FALSE(o.validate().ok());
}

TEST_CASE("admission: a full store refuses growth with LIMIT_EXCEEDED and still takes deletes") {
  replica::ReplicaOptions o = testing::single_options();
  o.store.bytes_max = 64 << 10;
  SingleReplica s(o);
  s.lead();
  const ClientId client{1};
  (void)s.open_session(client, 1);
  std::uint64_t id = 2;
  protocol::Response last;
  for (int i = 0; i < 20; ++i) {
    const std::string p = "/n" + std::to_string(i);
    last = s.request(client, id++, create(p.c_str(), std::string(8 << 10, 'x')));
    if (!last.status.ok()) break;
  }
  CHECK(last.status.error == protocol::Error::LIMIT_EXCEEDED);
  CHECK(last.status.message.find("the store is full") != std::string::npos);
  CHECK(s.replica->store().snapshot_bytes() <= o.store.bytes_max);
  CHECK(s.replica->store().serialize_snapshot().size() == s.replica->store().snapshot_bytes());
  CHECK(s.request(client, id++,
                  protocol::WriteRequest{std::nullopt, protocol::DeleteOp{path("/n0"), {}}})
            .status.ok());
  CHECK(s.request(client, id++, create("/again", std::string(4 << 10, 'y'))).status.ok());
  CHECK_FALSE(s.replica->fatal());
}
