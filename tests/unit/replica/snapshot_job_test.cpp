// Snapshots off the event loop (issue 14, point 9): the replica's own path
// (inputs, take_output, the finish calls) never fsyncs; the sync ticket's
// job and the SnapshotJob do, on the runtime's threads. And replicas with the
// same options snapshot at different slots.
#include <doctest/doctest.h>

#include <set>
#include <string>
#include <vector>

#include "server/replica/replica.h"
#include "tests/unit/replica/single_replica.h"

using namespace synod;
using replica::ClientId;
using testing::create;
using testing::SingleReplica;

namespace {

// Drives a replica as synodd does, with the fsync thread's work (a sync
// ticket's job, a snapshot job) run apart from the loop's calls, and counts
// the disk's fsyncs on the loop's side only.
struct LoopDriver {
  SingleReplica& s;
  std::uint64_t loop_fsyncs = 0;
  std::vector<Slot> snapshot_slots{};

  template <class Call>
  void on_loop(Call call) {
    const auto before = s.disk.sync_count() + s.disk.sync_dir_count();
    call();
    loop_fsyncs += s.disk.sync_count() + s.disk.sync_dir_count() - before;
  }

  void settle() {
    for (int i = 0; i < 64; ++i) {
      replica::ReplicaOutput out;
      on_loop([&] { out = s.replica->take_output(); });
      REQUIRE_FALSE(s.replica->fatal());
      bool more = false;
      if (out.snapshot_job) {
        snapshot_slots.push_back(out.snapshot_job->slot());
        (void)out.snapshot_job->run();  // the snapshot thread
        on_loop([&] { s.replica->finish_snapshot(std::move(out.snapshot_job)); });
        more = true;
      }
      if (out.sync_needed) {
        std::optional<replica::Replica::SyncTicket> ticket;
        on_loop([&] { ticket = s.replica->begin_sync(); });
        REQUIRE(ticket.has_value());
        const wal::Status ran = ticket->pending.run();  // the fsync thread
        on_loop([&] { (void)s.replica->finish_sync(*ticket, ran); });
        more = true;
      }
      if (!more) return;
    }
  }

  void write(ClientId client, std::uint64_t id, const std::string& path) {
    on_loop([&] {
      s.replica->on_request(client, protocol::ClientRequest{id, create(path.c_str(), "v")});
    });
    settle();
  }
};

}  // namespace

TEST_CASE("snapshot job: the loop never fsyncs for snapshots or segment rotation") {
  replica::ReplicaOptions o = testing::single_options();
  o.wal.segment_bytes_max = 2048;  // rotations too
  SingleReplica s(o);
  s.lead();
  const ClientId client{1};
  (void)s.open_session(client, 1);
  LoopDriver loop{s};
  for (std::uint64_t i = 0; i < 60; ++i) loop.write(client, 10 + i, "/n" + std::to_string(i));
  CHECK(loop.snapshot_slots.size() >= 5);
  CHECK(s.replica->core().log_start() > Slot{1});  // compacted after the jobs
  CHECK(s.disk.list("wal").value().size() >= 2);
  CHECK(loop.loop_fsyncs == 0);
  // What the jobs wrote recovers.
  const std::uint64_t digest = s.replica->store().digest();
  s.replica.reset();
  s.open();
  CHECK(s.replica->store().digest() == digest);
}

TEST_CASE("snapshot job: replicas with the same options snapshot at different slots") {
  std::set<std::uint64_t> offsets;
  for (std::uint32_t id = 1; id <= 7; ++id) {
    const Slot first = replica::next_snapshot_slot(Slot{0}, NodeId{id}, 10000);
    CHECK(first.value() >= 5000);
    CHECK(first.value() < 15000);
    offsets.insert(first.value() % 10000);
    // Later ones keep the phase, about an interval apart.
    const Slot second = replica::next_snapshot_slot(first, NodeId{id}, 10000);
    CHECK(second.value() - first.value() == 10000);
  }
  CHECK(offsets.size() == 7);  // an ensemble of seven never snapshots together
  for (std::uint64_t every = 1; every < 40; ++every) {
    for (std::uint64_t last = 0; last < 100; last += 7) {
      const Slot at = replica::next_snapshot_slot(Slot{last}, NodeId{3}, every);
      CHECK(at.value() > last);
      CHECK(at.value() <= last + every + every / 2 + 1);
    }
  }
  // Two replicas, same options but their ids, same writes.
  std::vector<std::vector<Slot>> taken;
  for (std::uint32_t id = 1; id <= 2; ++id) {
    SingleReplica s(testing::single_options(NodeId{id}));
    s.lead();
    const ClientId client{1};
    (void)s.open_session(client, 1);
    LoopDriver loop{s};
    for (std::uint64_t i = 0; i < 20; ++i) loop.write(client, 10 + i, "/n" + std::to_string(i));
    taken.push_back(loop.snapshot_slots);
  }
  REQUIRE_FALSE(taken[0].empty());
  REQUIRE_FALSE(taken[1].empty());
  CHECK(taken[0].front() != taken[1].front());
}
