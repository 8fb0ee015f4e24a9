// The runtime's plain-C++ pieces: /health's answer and settling a data
// dir's identity (server/runtime/admin.h, identity.h), over MemoryDisk.
#include <doctest/doctest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "server/runtime/admin.h"
#include "server/runtime/identity.h"
#include "server/wal/memory_disk.h"

using namespace synod;

namespace {

replica::ReplicaStatus healthy() {
  replica::ReplicaStatus s;
  s.consensus.leader = NodeId{2};
  s.consensus.chosen = Slot{5000};
  s.applied = Slot{4990};
  return s;
}

runtime::IdentityFlags flags(std::uint32_t id, bool bootstrap) {
  runtime::IdentityFlags f;
  f.id = NodeId{id};
  f.bootstrap = bootstrap;
  f.data_dir = "/data";
  for (std::uint32_t i = 1; i <= 3; ++i) {
    f.peers[NodeId{i}] = runtime::Address{"127.0.0." + std::to_string(i), 7100};
  }
  return f;
}

}  // namespace

TEST_CASE("health: ok with a leader and caught up; 503 naming each problem otherwise") {
  CHECK(runtime::health_answer(healthy()).starts_with("HTTP/1.1 200 OK"));
  replica::ReplicaStatus s = healthy();
  s.consensus.leader = no_node;
  s.applied = Slot{10};
  const std::string answer = runtime::health_answer(s);
  CHECK(answer.starts_with("HTTP/1.1 503 Service Unavailable"));
  CHECK(answer.find("no leader is known") != std::string::npos);
  CHECK(answer.find("4990 behind the chosen slot 5000") != std::string::npos);
}

TEST_CASE("health: a disk that cannot write is 503 with its reason, in /status and /metrics too") {
  replica::ReplicaStatus s = healthy();
  s.disk_failure = "write wal/00000000000000000001.log: No space left on device";
  s.disk_errors = 3;
  const std::string answer = runtime::health_answer(s);
  CHECK(answer.starts_with("HTTP/1.1 503 Service Unavailable"));
  CHECK(answer.find("the disk cannot write (write wal/00000000000000000001.log: No space left on "
                    "device); this server is read-only until it can") != std::string::npos);
  runtime::RuntimeOptions options;
  options.id = NodeId{2};
  const std::string status = runtime::status_json(options, s);
  CHECK(status.find("\"disk_failure\":\"write wal/00000000000000000001.log: No space left on "
                    "device\"") != std::string::npos);
  const std::string metrics = runtime::metrics_text(runtime::Metrics{}, s, NodeId{2});
  CHECK(metrics.find("synod_disk_failed 1\n") != std::string::npos);
  CHECK(metrics.find("synod_disk_errors_total 3\n") != std::string::npos);
  s.disk_failure.reset();
  CHECK(runtime::health_answer(s).starts_with("HTTP/1.1 200 OK"));
  CHECK(runtime::status_json(options, s).find("\"disk_failure\":null") != std::string::npos);
  CHECK(runtime::metrics_text(runtime::Metrics{}, s, NodeId{2}).find("synod_disk_failed 0\n") !=
        std::string::npos);
}

TEST_CASE("status: the leader lists each member's lag and last contact, in /metrics too") {
  replica::ReplicaStatus s = healthy();
  s.consensus.role = "leader";
  s.consensus.leader = NodeId{1};
  s.consensus.chosen = Slot{5000};
  s.consensus.config.voters = {NodeId{1}, NodeId{2}, NodeId{3}};
  s.consensus.progress = {{NodeId{2}, Slot{5000}, 1, false, 0},
                          {NodeId{3}, Slot{4200}, 30, true, 4096}};
  s.tick_ms = 10;
  runtime::RuntimeOptions options;
  options.id = NodeId{1};
  const std::string status = runtime::status_json(options, s);
  CHECK(status.find(
            "\"id\":1,\"address\":\"\",\"role\":\"voter\",\"lag\":0,\"last_contact_ms\":0}") !=
        std::string::npos);
  CHECK(status.find(
            "\"id\":2,\"address\":\"\",\"role\":\"voter\",\"lag\":0,\"last_contact_ms\":10}") !=
        std::string::npos);
  CHECK(status.find(
            "\"id\":3,\"address\":\"\",\"role\":\"voter\",\"lag\":800,\"last_contact_ms\":300,"
            "\"snapshot_bytes_acked\":4096}") != std::string::npos);
  const std::string metrics = runtime::metrics_text(runtime::Metrics{}, s, NodeId{1});
  CHECK(metrics.find("synod_member_lag_slots{member=\"3\"} 800\n") != std::string::npos);
  CHECK(metrics.find("synod_member_last_contact_ms{member=\"2\"} 10\n") != std::string::npos);
  // A follower cannot know either.
  s.consensus.role = "follower";
  s.consensus.progress.clear();
  CHECK(runtime::status_json(options, s)
            .find("\"id\":3,\"address\":\"\",\"role\":\"voter\",\"lag\":null,"
                  "\"last_contact_ms\":null}") != std::string::npos);
  CHECK(runtime::metrics_text(runtime::Metrics{}, s, NodeId{1}).find("synod_member_lag") ==
        std::string::npos);
}

TEST_CASE("identity: a new data dir is refused without --bootstrap and founded with it") {
  wal::MemoryDisk disk;
  auto refused = runtime::settle_identity(flags(1, false), disk);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().message.find("--bootstrap") != std::string::npos);
  CHECK_FALSE(disk.exists("identity"));
  auto founded = runtime::settle_identity(flags(1, true), disk);
  REQUIRE(founded.ok());
  CHECK(founded.value().peers.size() == 3);
  // Every founder derives the same cluster id from the same --peers.
  wal::MemoryDisk other;
  CHECK(runtime::settle_identity(flags(2, true), other).value().identity.cluster_id ==
        founded.value().identity.cluster_id);
}

TEST_CASE("identity: once persisted, flags never override it; another --id is refused") {
  wal::MemoryDisk disk;
  REQUIRE(runtime::settle_identity(flags(1, true), disk).ok());
  runtime::IdentityFlags changed = flags(1, false);
  changed.peers[NodeId{3}] = runtime::Address{"10.0.0.9", 9999};
  auto kept = runtime::settle_identity(changed, disk);
  REQUIRE(kept.ok());
  CHECK(kept.value().peers.at(NodeId{3}).host == "127.0.0.3");
  CHECK(kept.value().notes.back().starts_with("ignoring --peers"));
  runtime::IdentityFlags none = flags(1, false);
  none.peers.clear();  // no --peers at all: the persisted ones
  CHECK(runtime::settle_identity(none, disk).value().peers.size() == 3);
  auto wrong = runtime::settle_identity(flags(2, false), disk);
  REQUIRE_FALSE(wrong.ok());
  CHECK(wrong.status().message.find("belongs to node 1") != std::string::npos);
}

TEST_CASE("identity: a data dir written before identity files adopts --peers once") {
  wal::MemoryDisk disk;
  REQUIRE(wal::write_meta(disk, "ballot").ok());
  auto adopted = runtime::settle_identity(flags(1, false), disk);
  REQUIRE(adopted.ok());
  CHECK(disk.exists("identity"));
  CHECK(adopted.value().notes.back().find("adopts --peers") != std::string::npos);
}

TEST_CASE(
    "descriptors: the soft limit is raised as far as the hard one allows, and the client "
    "cap lowered, with a sentence, when that is not enough") {
  // In a child process, so this test's own limits stay as they were.
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    rlimit low{200, 300};
    if (::setrlimit(RLIMIT_NOFILE, &low) != 0) ::_exit(10);
    const runtime::DescriptorBudget budget = runtime::raise_descriptor_limit(10000);
    rlimit now{};
    if (::getrlimit(RLIMIT_NOFILE, &now) != 0) ::_exit(11);
    if (now.rlim_cur != 300) ::_exit(12);  // raised to the hard limit
    if (budget.client_connections != 300 - runtime::descriptors_reserved) ::_exit(13);
    if (budget.note.find("RLIMIT_NOFILE allows 300") == std::string::npos) ::_exit(14);
    const runtime::DescriptorBudget enough = runtime::raise_descriptor_limit(10);
    ::_exit(enough.client_connections == 10 && enough.note.empty() ? 0 : 15);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}
