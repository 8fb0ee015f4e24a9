// A one-voter Replica over MemoryDisk, driven as synodd's runtime drives it
// (settle: take the output, sync when asked, run snapshot writes), for the
// replica scenarios, admission, batching and snapshot tests.
#pragma once

#include <doctest/doctest.h>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "base/prng.h"
#include "server/replica/replica.h"
#include "server/wal/memory_disk.h"

namespace synod::testing {

inline constexpr std::int64_t single_tick_ms = 10;

inline replica::ReplicaOptions single_options(NodeId self = NodeId{1}) {
  replica::ReplicaOptions o;
  o.core.self = self;
  o.core.election_ticks = 10;
  o.core.heartbeat_ticks = 2;
  o.tick_ms = single_tick_ms;
  o.snapshot_every = 8;
  o.session_timeout_ms_min = 1000;
  o.session_timeout_ms_max = 4000;
  return o;
}

struct SingleReplica {
  wal::MemoryDisk disk;
  base::Prng prng{7};
  replica::ReplicaOptions options;
  std::unique_ptr<replica::Replica> replica;
  std::int64_t now_ms = 0;
  std::vector<replica::ToClient> received;
  std::vector<std::string> notes;
  std::vector<consensus::Envelope> sent;
  std::uint64_t snapshots_written = 0;
  // Runs between take_output() and the sync, e.g. to inject a disk fault.
  std::function<void(const replica::ReplicaOutput&)> before_sync;

  explicit SingleReplica(replica::ReplicaOptions o = single_options()) : options(std::move(o)) {
    open();
  }

  void open() {
    auto opened = replica::Replica::open(options, disk, prng,
                                         consensus::Configuration{{options.core.self}, {}},
                                         replica::Time{now_ms, now_ms});
    REQUIRE_MESSAGE(opened.ok(), opened.status().message);
    replica = std::move(opened.value());
    settle();
  }

  // Takes the output until nothing waits: syncs when asked, runs every
  // snapshot write at once.
  void settle() {
    for (int i = 0; i < 64; ++i) {
      replica::ReplicaOutput out = replica->take_output();
      for (auto& m : out.to_clients) received.push_back(std::move(m));
      for (auto& n : out.notes) notes.push_back(std::move(n));
      for (auto& e : out.send) sent.push_back(std::move(e));
      replica->check_invariants();
      if (before_sync) before_sync(out);
      bool more = false;
      if (out.snapshot_job) {
        ++snapshots_written;
        (void)out.snapshot_job->run();
        replica->finish_snapshot(std::move(out.snapshot_job));
        more = true;
      }
      if (out.sync_needed && !replica->fatal()) {
        (void)replica->sync();
        more = true;
      }
      if (!more) return;
    }
  }

  void tick(int ticks) {
    for (int i = 0; i < ticks; ++i) {
      now_ms += single_tick_ms;
      replica->on_tick(replica::Time{now_ms, 1'700'000'000'000 + now_ms});
      settle();
    }
  }

  void lead() {
    tick(40);
    REQUIRE(replica->core().is_leader());
  }

  // The response to request `id`, after settling and a tick; nullopt if none.
  std::optional<protocol::Response> try_request(replica::ClientId client, std::uint64_t id,
                                                protocol::ClientBody body) {
    received.clear();
    replica->on_request(client, protocol::ClientRequest{id, std::move(body)});
    settle();
    tick(1);
    for (auto& m : received) {
      if (m.client != client) continue;
      if (auto* r = std::get_if<protocol::Response>(&m.message); r && r->request_id == id) {
        return *r;
      }
    }
    return std::nullopt;
  }

  protocol::Response request(replica::ClientId client, std::uint64_t id,
                             protocol::ClientBody body) {
    auto r = try_request(client, id, std::move(body));
    REQUIRE_MESSAGE(r.has_value(), "no response to request " << id);
    return *r;
  }

  SessionId open_session(replica::ClientId client, std::uint64_t id) {
    auto r = request(client, id, protocol::OpenSessionRequest{2000, std::nullopt, Zxid{}});
    REQUIRE(r.status.ok());
    return std::get<protocol::SessionResult>(r.body).session;
  }
};

inline protocol::Path path(const char* text) { return protocol::Path::parse(text).value(); }

inline protocol::WriteRequest create(const char* p, std::string data) {
  protocol::CreateOp op;
  op.path = path(p);
  op.data = std::move(data);
  return protocol::WriteRequest{std::nullopt, op};
}

inline protocol::WriteRequest set(const char* p, std::string data) {
  protocol::SetOp op;
  op.path = path(p);
  op.data = std::move(data);
  return protocol::WriteRequest{std::nullopt, op};
}

}  // namespace synod::testing
