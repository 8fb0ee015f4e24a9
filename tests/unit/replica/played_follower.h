// Replica 1 of voters {1, 2} over MemoryDisk; the test plays node 2, the
// leader, by hand, and records what replica 1 sends it and its one client.
// settle() drives it as synodd's runtime does: takes the output, syncs when
// asked and runs snapshot jobs, unless hold_snapshot_jobs keeps them in
// `snapshot_job` for the test to run.
#pragma once

#include <doctest/doctest.h>

#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "base/prng.h"
#include "server/replica/replica.h"
#include "server/wal/memory_disk.h"
#include "tests/unit/replica/single_replica.h"

namespace synod::testing {

struct PlayedFollower {
  wal::MemoryDisk disk;
  base::Prng prng{9};
  replica::ReplicaOptions options;
  std::unique_ptr<replica::Replica> replica;
  std::vector<consensus::Envelope> sent;    // everything replica 1 sent
  std::vector<consensus::Entry> forwarded;  // what it sent node 2 to propose
  std::vector<protocol::Response> answers;  // to the one client, in order
  const Ballot ballot{1, NodeId{2}};
  std::int64_t now_ms = 0;
  bool hold_snapshot_jobs = false;
  std::unique_ptr<replica::SnapshotJob> snapshot_job;

  PlayedFollower() {
    options.core.self = NodeId{1};
    options.core.election_ticks = 1000;  // never runs for leader in these tests
    options.tick_ms = single_tick_ms;
    options.session_timeout_ms_min = 20000;
    options.session_timeout_ms_max = 40000;
    open();
  }

  // Opens (or, after a simulated crash, reopens) replica 1 on `disk`, and
  // hears node 2's heartbeat: node 2 leads.
  void open() {
    replica.reset();
    snapshot_job.reset();
    auto opened = replica::Replica::open(options, disk, prng,
                                         consensus::Configuration{{NodeId{1}, NodeId{2}}, {}},
                                         replica::Time{now_ms, now_ms});
    REQUIRE_MESSAGE(opened.ok(), opened.status().message);
    replica = std::move(opened.value());
    accept(Slot{1}, {}, Slot{0});
  }

  void settle() {
    for (int i = 0; i < 16; ++i) {
      replica::ReplicaOutput out = replica->take_output();
      for (auto& e : out.send) {
        if (auto* f = std::get_if<consensus::Forward>(&e.message)) {
          forwarded.insert(forwarded.end(), f->entries.begin(), f->entries.end());
        }
        sent.push_back(std::move(e));
      }
      for (auto& m : out.to_clients) {
        if (auto* r = std::get_if<protocol::Response>(&m.message)) answers.push_back(*r);
      }
      replica->check_invariants();
      bool more = false;
      if (out.snapshot_job) {
        REQUIRE(snapshot_job == nullptr);
        snapshot_job = std::move(out.snapshot_job);
        if (!hold_snapshot_jobs) {
          finish_snapshot_job();
          more = true;
        }
      }
      if (out.sync_needed) {
        REQUIRE_FALSE(replica->sync().has_value());
        more = true;
      }
      if (!more) return;
    }
  }

  // Runs the held snapshot job (the snapshot thread), hands it back, settles.
  void run_snapshot_job() {
    finish_snapshot_job();
    settle();
  }

  void finish_snapshot_job() {
    REQUIRE(snapshot_job != nullptr);
    (void)snapshot_job->run();
    replica->finish_snapshot(std::move(snapshot_job));
  }

  void accept(Slot first, std::vector<consensus::Entry> entries, Slot chosen) {
    replica->on_message(NodeId{2}, consensus::Accept{ballot, first, std::move(entries), chosen});
    settle();
  }

  void request(std::uint64_t id, protocol::ClientBody body) {
    replica->on_request(replica::ClientId{1}, protocol::ClientRequest{id, std::move(body)});
    settle();
  }

  void tick(std::uint64_t ticks) {
    for (std::uint64_t i = 0; i < ticks; ++i) {
      now_ms += single_tick_ms;
      replica->on_tick(replica::Time{now_ms, now_ms});
      settle();
    }
  }

  // The highest frontier replica 1 granted in an Accepted it sent.
  [[nodiscard]] std::optional<Slot> granted() const {
    std::optional<Slot> best;
    for (const consensus::Envelope& e : sent) {
      const auto* a = std::get_if<consensus::Accepted>(&e.message);
      if (a != nullptr && a->granted) best = std::max(best.value_or(Slot{0}), a->frontier);
    }
    return best;
  }
};

}  // namespace synod::testing
