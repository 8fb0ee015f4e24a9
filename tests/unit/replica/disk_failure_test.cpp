// A disk that cannot write (full, or failing with EIO) turns the replica
// read-only with an alarm instead of stopping it; it retries on its tick and
// rejoins from what is durable (replica.h "Disk failure").
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "base/prng.h"
#include "server/replica/replica.h"
#include "server/wal/memory_disk.h"
#include "tests/unit/replica/played_follower.h"
#include "tests/unit/replica/single_replica.h"

using namespace synod;
using replica::ClientId;
using testing::create;
using testing::path;

namespace {

bool has_note(const std::vector<std::string>& notes, const std::string& part) {
  for (const std::string& note : notes) {
    if (note.find(part) != std::string::npos) return true;
  }
  return false;
}

protocol::GetRequest sequential_get(const char* p) {
  protocol::GetRequest get;
  get.path = path(p);
  get.mode = protocol::ReadMode::sequential;
  return get;
}

}  // namespace

TEST_CASE(
    "replica: a full disk turns the replica read-only: writes are refused naming the cause, "
    "reads still work, and it recovers by itself when space returns") {
  testing::SingleReplica s;
  s.lead();
  const ClientId client{1};
  (void)s.open_session(client, 1);
  REQUIRE(s.request(client, 2, create("/a", "1")).status.ok());

  s.disk.set_space_bytes(s.disk.used_bytes());  // full
  // The write that meets the full disk is never acknowledged (its record is
  // not durable): TIMEOUT, outcome unknown, at once.
  const protocol::Response unknown = s.request(client, 3, create("/b", "2"));
  CHECK(unknown.status.error == protocol::Error::TIMEOUT);
  CHECK(unknown.status.message.find("the outcome of this write is unknown") != std::string::npos);
  REQUIRE(s.replica->disk_failure().has_value());
  CHECK(s.replica->disk_failure()->find("No space left on device") != std::string::npos);
  CHECK(has_note(s.notes, "node 1 cannot write its disk"));
  CHECK_FALSE(s.replica->fatal().has_value());
  const replica::ReplicaStatus failed = s.replica->status();
  CHECK(failed.disk_failure.has_value());
  CHECK(failed.disk_errors >= 1);
  CHECK(failed.consensus.leader == no_node);

  // Later writes are refused at once, with the reason.
  const protocol::Response refused = s.request(client, 4, create("/c", "3"));
  CHECK(refused.status.error == protocol::Error::NOT_LEADER);
  CHECK(refused.status.message.find("node 1 cannot write its disk") != std::string::npos);
  CHECK(refused.status.message.find("No space left on device") != std::string::npos);
  CHECK(refused.status.message.find("read-only until it can") != std::string::npos);
  // Reads from the applied state go on.
  const protocol::Response a = s.request(client, 5, sequential_get("/a"));
  REQUIRE(a.status.ok());
  CHECK(std::get<protocol::DataResult>(a.body).data == "1");
  CHECK(s.request(client, 6, sequential_get("/b")).status.error == protocol::Error::NO_NODE);

  // Still full at the retry: still read-only, counted again.
  s.tick(static_cast<int>(s.options.disk_retry_ticks) + 1);
  CHECK(s.replica->disk_failure().has_value());

  s.disk.set_space_bytes(std::nullopt);
  s.tick(static_cast<int>(s.options.disk_retry_ticks) + 40);
  CHECK_FALSE(s.replica->disk_failure().has_value());
  CHECK(has_note(s.notes, "node 1 can write its disk again"));
  REQUIRE(s.replica->core().is_leader());
  CHECK(s.replica->status().disk_errors > failed.disk_errors);
  REQUIRE(s.request(client, 7, create("/d", "4")).status.ok());
  CHECK_FALSE(s.replica->store().exists(path("/b")).ok());  // never durable, never applied

  // What it wrote after recovering is on disk: a restart finds it.
  s.replica.reset();
  s.open();
  s.tick(1);
  CHECK(s.replica->store().exists(path("/a")).ok());
  CHECK(s.replica->store().exists(path("/d")).ok());
  CHECK_FALSE(s.replica->store().exists(path("/b")).ok());
}

TEST_CASE(
    "replica: a failed fsync turns the replica read-only; the write is never acknowledged, "
    "and after the retry recovery cuts the log back to what was durable") {
  testing::SingleReplica s;
  s.lead();
  const ClientId client{1};
  (void)s.open_session(client, 1);
  s.replica->on_request(client, protocol::ClientRequest{2, create("/a", "1")});
  (void)s.replica->take_output();
  auto ticket = s.replica->begin_sync();
  REQUIRE(ticket.has_value());
  s.disk.fail_next_syncs(1);
  const wal::Status ran = ticket->pending.job->run();
  CHECK_FALSE(s.replica->finish_sync(*ticket, ran).has_value());  // not fatal
  CHECK_FALSE(s.replica->fatal().has_value());
  REQUIRE(s.replica->disk_failure().has_value());
  s.received.clear();
  s.tick(static_cast<int>(s.options.disk_retry_ticks) + 40);
  for (const replica::ToClient& m : s.received) {
    const auto* r = std::get_if<protocol::Response>(&m.message);
    CHECK_FALSE((r != nullptr && r->request_id == 2 && r->status.ok()));
  }
  CHECK_FALSE(s.replica->disk_failure().has_value());
  REQUIRE(s.replica->core().is_leader());
  CHECK_FALSE(s.replica->store().exists(path("/a")).ok());
  REQUIRE(s.request(client, 3, create("/b", "2")).status.ok());
}

TEST_CASE(
    "replica: a follower whose disk fills never votes for what it could not write, sends "
    "nothing while it cannot, and votes again once space returns") {
  testing::PlayedFollower f;  // node 2 leads
  f.sent.clear();
  f.disk.set_space_bytes(f.disk.used_bytes());
  f.accept(Slot{1}, {consensus::Entry::noop(), consensus::Entry::noop()}, Slot{0});
  REQUIRE(f.replica->disk_failure().has_value());
  CHECK_FALSE(f.granted().has_value());
  f.accept(Slot{1}, {consensus::Entry::noop(), consensus::Entry::noop()}, Slot{0});
  f.tick(f.options.disk_retry_ticks / 2);
  CHECK(f.sent.empty());  // no promise, no vote, no request: out of consensus

  f.disk.set_space_bytes(std::nullopt);
  f.tick(f.options.disk_retry_ticks);
  REQUIRE_FALSE(f.replica->disk_failure().has_value());
  f.accept(Slot{1}, {consensus::Entry::noop(), consensus::Entry::noop()}, Slot{2});
  REQUIRE(f.granted().has_value());
  CHECK(*f.granted() == Slot{2});
  CHECK(f.replica->applied() == Slot{2});
}

TEST_CASE(
    "replica: a snapshot job that finishes after the disk failed keeps the log it points "
    "at: the roll back stops where the job's own sync got") {
  testing::SingleReplica s;  // a snapshot every 8 entries
  s.lead();
  const ClientId client{1};
  (void)s.open_session(client, 1);
  // Writes, synced by hand, until a snapshot job is handed out; it is held.
  std::unique_ptr<replica::SnapshotJob> job;
  for (std::uint64_t id = 2; id < 40 && !job; ++id) {
    const std::string p = "/n" + std::to_string(id);
    s.replica->on_request(client, protocol::ClientRequest{id, create(p.c_str(), "x")});
    for (int round = 0; round < 4 && !job; ++round) {
      replica::ReplicaOutput out = s.replica->take_output();
      job = std::move(out.snapshot_job);
      if (!out.sync_needed) break;
      REQUIRE_FALSE(s.replica->sync().has_value());
    }
  }
  REQUIRE(job != nullptr);
  // A write fails with EIO while the job is out; then the job runs: its log
  // sync and its file both succeed.
  s.disk.fail_next_appends(1);
  s.replica->on_request(client, protocol::ClientRequest{50, create("/lost", "x")});
  (void)s.replica->take_output();
  REQUIRE(s.replica->disk_failure().has_value());
  CHECK(s.replica->disk_failure()->find("Input/output error") != std::string::npos);
  REQUIRE(job->run().ok());
  s.replica->finish_snapshot(std::move(job));
  s.notes.clear();
  s.tick(static_cast<int>(s.options.disk_retry_ticks) + 40);
  REQUIRE_FALSE(s.replica->disk_failure().has_value());
  CHECK_FALSE(has_note(s.notes, "the log ends before"));
  REQUIRE(s.request(client, 51, create("/after", "x")).status.ok());
  s.replica.reset();
  s.notes.clear();
  s.open();
  CHECK_FALSE(has_note(s.notes, "the log ends before"));
  CHECK(s.replica->store().exists(path("/n2")).ok());
  CHECK(s.replica->store().exists(path("/after")).ok());
}

TEST_CASE(
    "replica: a disk that fails again soon after it recovered waits twice as long before the "
    "next try, and one that holds starts over") {
  testing::SingleReplica s;
  s.lead();
  const ClientId client{1};
  (void)s.open_session(client, 1);
  const auto retry = s.options.disk_retry_ticks;
  const std::string every = "tries again every " + std::to_string(retry) + " ticks";
  const std::string twice = "tries again every " + std::to_string(2 * retry) + " ticks";
  std::uint64_t id = 2;
  // Fills the disk, fails a write, frees it and lets the replica recover.
  auto flap = [&](ClientId writer) {
    s.notes.clear();
    s.disk.set_space_bytes(s.disk.used_bytes());
    const std::string name = "/f" + std::to_string(id);
    const protocol::Response r = s.request(writer, id++, create(name.c_str(), "x"));
    REQUIRE_MESSAGE(s.replica->disk_failure().has_value(), r.status.message);
  };
  auto recover = [&](std::uint64_t ticks) {
    s.disk.set_space_bytes(std::nullopt);
    s.tick(static_cast<int>(ticks) + 40);
    REQUIRE_FALSE(s.replica->disk_failure().has_value());
  };
  flap(client);
  CHECK(has_note(s.notes, every));
  recover(retry);
  flap(client);  // at once: it flapped
  CHECK(has_note(s.notes, twice));
  s.disk.set_space_bytes(std::nullopt);
  s.tick(static_cast<int>(retry) + 1);  // the old interval passed: still read-only
  CHECK(s.replica->disk_failure().has_value());
  recover(2 * retry);
  // Healthy for a whole flap window: the next failure waits the plain interval.
  s.tick(static_cast<int>(replica::Replica::disk_flap_window_retries * retry) + 1);
  const ClientId later{2};  // the first session expired meanwhile (no keep-alives here)
  (void)s.open_session(later, 1000);
  flap(later);
  CHECK(has_note(s.notes, every));
}
