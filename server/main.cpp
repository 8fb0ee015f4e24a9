// synodd: one Synod server (DESIGN.md "Processes"). Parses flags (or a
// config file with the same names, through CLI11), checks and locks the data
// dir, and hands over to the runtime (server/runtime/runtime.h).
//
// Exit codes: 0 after SIGTERM/SIGINT, 1 after a fatal disk error, 2 for bad
// flags, an unusable or already locked data dir, or an address in use.
#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdint>
#include <cstdio>
#include <string>

#include "server/runtime/identity.h"
#include "server/runtime/posix_disk.h"
#include "server/runtime/runtime.h"

namespace {

constexpr int exit_usage = 2;

int refuse(const std::string& why) {
  std::fprintf(stderr, "synodd: %s\n", why.c_str());
  return exit_usage;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace synod;
  CLI::App app{"synodd: one server of a Synod ensemble"};
  app.set_config("--config", "", "Read flags from a TOML or INI file (same names as the flags)");
  std::uint32_t id = 0;
  std::string peers_text, client_text, admin_text, data_dir;
  std::int64_t election_timeout_ms = 1000;
  std::int64_t heartbeat_ms = 100;
  std::int64_t tick_ms = 10;
  std::int64_t session_timeout_ms_min = 2000;
  std::int64_t session_timeout_ms_max = 60000;
  std::uint64_t snapshot_every = 10000;
  bool bootstrap = false;
  std::string cluster_token = "synod";
  std::uint64_t quota_bytes = store::StoreConfig{}.bytes_max;
  std::int64_t disk_retry_ms = 1000;
  std::int64_t handshake_timeout_ms = runtime::handshake_timeout_ms_default;
  std::int64_t client_idle_timeout_ms = runtime::client_idle_timeout_ms_default;
  std::uint64_t watches_max = replica::WatchLimits{}.watches_max;
  app.add_option("--id", id, "This server's id, in the --peers list")->required();
  app.add_option("--peers", peers_text,
                 "The founding voters, this server included: 1=HOST:PORT,2=HOST:PORT,... "
                 "(read once, when the data dir is new; afterwards the persisted membership "
                 "is used)");
  app.add_flag("--bootstrap", bootstrap,
               "Found a new ensemble with --peers if the data dir is new (every founder passes "
               "it once); without it a new data dir is refused");
  app.add_option("--cluster-token", cluster_token,
                 "Founding only: mixed into the cluster id, so two ensembles with the same "
                 "--peers stay apart")
      ->capture_default_str();
  app.add_option("--client-addr", client_text, "HOST:PORT for client connections")->required();
  app.add_option("--admin-addr", admin_text, "HOST:PORT for HTTP /status, /metrics, /health")
      ->required();
  app.add_option("--data-dir", data_dir, "Directory for the write-ahead log and snapshots")
      ->required();
  app.add_option("--election-timeout-ms", election_timeout_ms,
                 "Silence from the leader before a follower runs (ms)")
      ->capture_default_str();
  app.add_option("--heartbeat-ms", heartbeat_ms, "Leader heartbeat interval (ms)")
      ->capture_default_str();
  app.add_option("--tick-ms", tick_ms, "Length of one tick (ms)")->capture_default_str();
  app.add_option("--session-timeout-min-ms", session_timeout_ms_min,
                 "Smallest session timeout granted (ms)")
      ->capture_default_str();
  app.add_option("--session-timeout-max-ms", session_timeout_ms_max,
                 "Largest session timeout granted (ms)")
      ->capture_default_str();
  app.add_option("--snapshot-every", snapshot_every, "Applied entries between snapshots")
      ->capture_default_str();
  app.add_option("--quota-bytes", quota_bytes,
                 "Bytes the store may hold (its snapshot size); a write beyond it is refused "
                 "LIMIT_EXCEEDED. Give every server the same value")
      ->capture_default_str();
  app.add_option("--disk-retry-ms", disk_retry_ms,
                 "After a disk error (full, EIO) the server is read-only; how often it tries "
                 "to recover (ms)")
      ->capture_default_str();
  app.add_option("--handshake-timeout-ms", handshake_timeout_ms,
                 "A client connection that has opened no session this long after it connected "
                 "is closed (ms)")
      ->capture_default_str();
  app.add_option("--client-idle-timeout-ms", client_idle_timeout_ms,
                 "A client connection whose session expired or closed and that sends nothing "
                 "this long is closed (ms); one with a live session never is")
      ->capture_default_str();
  app.add_option("--watches-max", watches_max,
                 "Watches this server holds over all its connections; one past it is refused "
                 "LIMIT_EXCEEDED")
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : exit_usage;
  }

  if (tick_ms <= 0 || tick_ms > 1000) return refuse("--tick-ms must be in [1, 1000]");
  if (election_timeout_ms < tick_ms || heartbeat_ms < tick_ms) {
    return refuse("--election-timeout-ms and --heartbeat-ms must be at least --tick-ms");
  }
  if (disk_retry_ms < tick_ms) return refuse("--disk-retry-ms must be at least --tick-ms");
  if (election_timeout_ms / tick_ms > UINT32_MAX || heartbeat_ms / tick_ms > UINT32_MAX) {
    return refuse("--election-timeout-ms and --heartbeat-ms are too large");
  }
  runtime::RuntimeOptions options;
  options.id = NodeId{id};
  runtime::IdentityFlags identity_flags{NodeId{id}, {}, bootstrap, cluster_token, data_dir};
  if (!peers_text.empty()) {
    auto peers = runtime::parse_peers(peers_text);
    if (!peers.ok()) return refuse(peers.status().message);
    identity_flags.peers = std::move(peers).value();
  }
  auto client_addr = runtime::parse_address(client_text);
  if (!client_addr.ok()) return refuse("--client-addr: " + client_addr.status().message);
  options.client_addr = std::move(client_addr).value();
  auto admin_addr = runtime::parse_address(admin_text);
  if (!admin_addr.ok()) return refuse("--admin-addr: " + admin_addr.status().message);
  options.admin_addr = std::move(admin_addr).value();
  options.data_dir = data_dir;
  options.handshake_timeout_ms = handshake_timeout_ms;
  options.client_idle_timeout_ms = client_idle_timeout_ms;
  replica::ReplicaOptions& r = options.replica;
  r.core.self = options.id;
  r.core.election_ticks = static_cast<std::uint32_t>(election_timeout_ms / tick_ms);
  r.core.heartbeat_ticks = static_cast<std::uint32_t>(heartbeat_ms / tick_ms);
  r.tick_ms = tick_ms;
  r.session_timeout_ms_min = session_timeout_ms_min;
  r.session_timeout_ms_max = session_timeout_ms_max;
  r.snapshot_every = snapshot_every;
  r.store.bytes_max = quota_bytes;
  r.disk_retry_ticks = static_cast<std::uint64_t>(disk_retry_ms / tick_ms);
  r.watches.watches_max = watches_max;
  if (auto checked = r.validate(); !checked.ok()) return refuse(checked.message);

  // A peer that vanishes must fail a write, not kill the process.
  std::signal(SIGPIPE, SIG_IGN);

  if (auto checked = runtime::check_data_dir(data_dir); !checked.ok()) {
    return refuse(checked.message);
  }
  auto lock = runtime::DataDirLock::acquire(data_dir);
  if (!lock.ok()) return refuse(lock.status().message + "; stop it first");
  runtime::PosixDisk disk(data_dir);
  auto settled = runtime::settle_identity(identity_flags, disk);
  if (!settled.ok()) return refuse(settled.status().message);
  options.peers = std::move(settled.value().peers);
  options.cluster_id = settled.value().identity.cluster_id;
  options.notes = std::move(settled.value().notes);
  const runtime::DescriptorBudget budget =
      runtime::raise_descriptor_limit(options.client_connections_max);
  options.client_connections_max = budget.client_connections;
  if (!budget.note.empty()) options.notes.push_back(budget.note);
  if (auto checked = options.validate(); !checked.ok()) return refuse(checked.message);
  return runtime::run(options, disk);
}
