// Snapshots off the event loop (issue 14, point 9): the replica's own path
// (inputs, take_output, the finish calls) never fsyncs; the sync ticket's
// job and the SnapshotJob do, on the runtime's threads. And replicas with the
// same options snapshot at different slots.
#include <doctest/doctest.h>

#include <set>
#include <string>
#include <vector>

#include "server/replica/replica.h"
#include "tests/unit/replica/played_follower.h"
#include "tests/unit/replica/single_replica.h"

using namespace synod;
using replica::ClientId;
using testing::create;
using testing::path;
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

namespace {

// A leader's store after a few writes, and the slot it stands at, as a
// SnapshotChunk (one chunk) from node 2 of a played follower.
consensus::SnapshotChunk leader_snapshot(const testing::PlayedFollower& f) {
  SingleReplica leader(testing::single_options(NodeId{2}));
  leader.lead();
  const ClientId client{1};
  (void)leader.open_session(client, 1);
  for (std::uint64_t i = 0; i < 5; ++i) {
    const std::string p = "/n" + std::to_string(i);
    REQUIRE(leader.request(client, 10 + i, create(p.c_str(), "v")).status.ok());
  }
  consensus::SnapshotChunk chunk;
  chunk.ballot = f.ballot;
  chunk.slot = leader.replica->applied();
  chunk.config = consensus::Configuration{{NodeId{1}, NodeId{2}}, {}};
  chunk.data = leader.replica->store().serialize_snapshot();
  chunk.total_bytes = chunk.data.size();
  return chunk;
}

}  // namespace

TEST_CASE(
    "snapshot job: a follower installs the leader's snapshot off the loop, and nothing after "
    "it reaches the log before its file is durable") {
  testing::PlayedFollower f;
  f.hold_snapshot_jobs = true;
  const consensus::SnapshotChunk chunk = leader_snapshot(f);
  const Slot slot = chunk.slot;
  const auto loop_fsyncs = [&] { return f.disk.sync_count() + f.disk.sync_dir_count(); };
  const auto fsyncs_before = loop_fsyncs();
  f.replica->on_message(NodeId{2}, chunk);
  f.settle();
  REQUIRE(f.snapshot_job != nullptr);
  CHECK(f.snapshot_job->slot() == slot);
  CHECK(loop_fsyncs() == fsyncs_before);  // the file is the job's, on its thread
  CHECK(f.replica->applied() == slot);    // the store is replaced at once
  CHECK(f.replica->store().exists(path("/n4")).ok());

  // The leader goes on. What follows the snapshot waits for its file, and
  // so does the vote for it.
  const std::uint64_t bytes_before = f.disk.used_bytes();
  f.sent.clear();
  f.accept(next(slot), {consensus::Entry::noop()}, next(slot));
  CHECK(f.disk.used_bytes() == bytes_before);
  CHECK_FALSE(f.granted().has_value());

  SUBCASE("the file is written: the held batches follow, and the vote leaves") {
    f.run_snapshot_job();
    CHECK(loop_fsyncs() > fsyncs_before);
    REQUIRE(f.granted().has_value());
    CHECK(*f.granted() == next(slot));
    CHECK(f.replica->applied() == next(slot));
    // A restart recovers the snapshot and the slot after it.
    f.open();
    CHECK(f.replica->applied() >= slot);
    CHECK(f.replica->core().log_end() == next(slot));
    CHECK(f.replica->store().exists(path("/n4")).ok());
  }
  SUBCASE("a crash before the file is durable keeps a log without a hole") {
    base::Prng crash_prng{3};
    f.disk.crash(crash_prng);
    f.open();  // the old state, with nothing after a missing snapshot
    CHECK(f.replica->applied() == Slot{0});
    CHECK_FALSE(f.replica->store().exists(path("/n4")).ok());
  }
  SUBCASE("a file that cannot be written fails the disk, as a refused write does") {
    f.disk.set_space_bytes(f.disk.used_bytes());
    f.run_snapshot_job();
    REQUIRE(f.replica->disk_failure().has_value());
    CHECK(f.replica->disk_failure()->find("snapshot at slot") != std::string::npos);
    CHECK_FALSE(f.granted().has_value());
  }
}

TEST_CASE(
    "snapshot job: an acceptor handed more than its unsynced budget while a sync is out waits "
    "for that sync instead of fsyncing on the loop") {
  testing::PlayedFollower f;
  f.options.wal.unsynced_bytes_max = wal::unsynced_bytes_max_min;  // about 32 MiB
  f.open();
  const auto big = [](char c) {
    std::vector<consensus::Entry> entries;
    for (int i = 0; i < 3; ++i) {
      entries.push_back(consensus::Entry::command(std::string(6 << 20, c)));
    }
    return entries;
  };
  f.accept(Slot{1}, big('a'), Slot{0});  // 18 MiB, synced
  REQUIRE(f.granted() == Slot{3});

  // Slots 4-6 are written and their sync is handed to the fsync thread,
  // which has not run it yet.
  f.replica->on_message(NodeId{2}, consensus::Accept{f.ballot, Slot{4}, big('b'), Slot{0}});
  replica::ReplicaOutput out = f.replica->take_output();
  REQUIRE(out.sync_needed);
  auto ticket = f.replica->begin_sync();
  REQUIRE(ticket.has_value());

  // Slots 7-9 do not fit beside them: held, no fsync, nothing written.
  const auto syncs = f.disk.sync_count();
  const std::uint64_t bytes = f.disk.used_bytes();
  f.replica->on_message(NodeId{2}, consensus::Accept{f.ballot, Slot{7}, big('c'), Slot{0}});
  out = f.replica->take_output();
  f.replica->check_invariants();
  CHECK(f.disk.sync_count() == syncs);
  CHECK(f.disk.used_bytes() == bytes);

  // The sync finishes: slots 4-6 are voted for, 7-9 written; their own
  // sync follows and then their vote.
  f.sent.clear();
  REQUIRE_FALSE(f.replica->finish_sync(*ticket, ticket->pending.run()).has_value());
  CHECK(f.disk.used_bytes() > bytes);
  f.settle();
  CHECK(f.granted() == Slot{9});
  CHECK(f.replica->core().log_end() == Slot{9});
}
