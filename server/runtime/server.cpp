// synodd's event loop (server.h), and runtime::run (runtime.h).
//
// Shape (Asio's cpp20/coroutines/chat_server.cpp, STYLE.md habit 5): the
// Server owns the Replica and turns every input into one drain per turn of
// the loop; the connections (peer_link.h, client_connection.h, listeners.h)
// each have a reader and a writer coroutine and only push onto bounded
// queues. Socket errors come back as values (as_tuple); any exception stops
// at the coroutine's top and closes that one connection.
//
// Asio translation units cost ~11 s each to compile, so there are four:
// this one, peer_link.cpp, client_connection.cpp and listeners.cpp. What
// needs no Asio (framing, metrics, admin pages, options) is in its own
// Asio-free files.
#include "server/runtime/server.h"

#include <asio.hpp>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <exception>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "base/assert.h"
#include "server/codec/peer.h"
#include "server/runtime/admin.h"
#include "server/runtime/client_connection.h"
#include "server/runtime/clock.h"
#include "server/runtime/peer_link.h"
#include "server/runtime/runtime.h"

namespace synod::runtime {

Server::Server(const RuntimeOptions& options, wal::Disk& disk)
    : options_(options),
      disk_(disk),
      prng_(static_cast<std::uint64_t>(wall_ms()) ^
            (std::uint64_t{options.id.value()} * 0x9e3779b97f4a7c15ull)),
      tick_timer_(io_),
      signals_(io_, SIGINT, SIGTERM),
      listeners_(*this) {}

void Server::on_peer_message(NodeId from, const consensus::Message& message) {
  SYNOD_ASSERT_MSG(from != self(), "the peer reader refuses a message from ourselves");
  if (stopping_) return;
  ++metrics_.peer_messages_received;
  replica_->on_message(from, message);
  after_input();
}

void Server::on_client_request(replica::ClientId client, protocol::ClientRequest request) {
  if (stopping_) return;
  replica_->on_request(client, std::move(request));
  after_input();
}

void Server::attach_client(tcp::socket socket) {
  const replica::ClientId id{next_client_id_++};
  auto connection = std::make_shared<ClientConnection>(*this, id, std::move(socket));
  const bool inserted = clients_.emplace(id, connection).second;
  SYNOD_ASSERT_MSG(inserted, "client ids are never reused");
  connection->start();
}

bool Server::client_has_session(replica::ClientId client) const {
  return replica_ != nullptr && replica_->client_session(client) != SessionId{0};
}

void Server::heard_from(NodeId peer) {
  if (const auto link = links_.find(peer); link != links_.end()) link->second->heard();
}

void Server::note_client_queued(std::ptrdiff_t delta) {
  SYNOD_ASSERT(delta >= 0 || client_queued_bytes_ >= static_cast<std::size_t>(-delta));
  client_queued_bytes_ =
      static_cast<std::size_t>(static_cast<std::ptrdiff_t>(client_queued_bytes_) + delta);
  if (client_queued_bytes_ <= client_queued_bytes_budget || trimming_posted_) return;
  trimming_posted_ = true;
  asio::post(io_, [this] { trim_client_queues(); });
}

// O(clients) per trim, and a trim runs only when the budget is spent.
void Server::trim_client_queues() {
  trimming_posted_ = false;
  while (client_queued_bytes_ > client_queued_bytes_budget) {
    std::shared_ptr<ClientConnection> largest;
    for (const auto& [id, connection] : clients_) {
      if (!largest || connection->queued_bytes() > largest->queued_bytes()) largest = connection;
    }
    if (!largest || largest->queued_bytes() == 0) return;
    ++metrics_.client_connections_slow;
    largest->close("the clients' send queues together exceed client_queued_bytes_budget (" +
                   std::to_string(client_queued_bytes_) + " bytes); this one holds the most (" +
                   std::to_string(largest->queued_bytes()) + " bytes)");
  }
}

void Server::on_client_drained(replica::ClientId client) {
  if (stopping_ || !clients_.contains(client)) return;
  replica_->on_client_drained(client);
  after_input();
}

void Server::on_client_gone(replica::ClientId client) {
  const std::size_t erased = clients_.erase(client);
  SYNOD_ASSERT_MSG(erased == 1, "a connection closes (and is forgotten) once");
  if (stopping_) return;
  replica_->on_client_gone(client);
  after_input();
}

void Server::log(std::string_view text) const {
  const std::int64_t ms = wall_ms();
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char stamp[96];
  std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  std::string line = std::string(stamp) + " [node " + std::to_string(options_.id.value()) + "] ";
  line += text;
  line += '\n';
  std::fputs(line.c_str(), stderr);
}

bool Server::resolve(const Address& address, tcp::endpoint& out, std::string_view what) {
  tcp::resolver resolver(io_);
  asio::error_code ec;
  const auto results = resolver.resolve(address.host, std::to_string(address.port),
                                        tcp::resolver::numeric_service, ec);
  if (ec || results.empty()) {
    log("cannot resolve " + std::string(what) + " " + to_string(address) + ": " +
        (ec ? ec.message() : std::string("no address")));
    return false;
  }
  out = results.begin()->endpoint();
  return true;
}

int Server::run() {
  SYNOD_ASSERT_MSG(replica_ == nullptr, "a Server runs once");
  tcp::endpoint peer_at, client_at, admin_at;
  if (!resolve(options_.peers.at(options_.id), peer_at, "the peer address") ||
      !resolve(options_.client_addr, client_at, "--client-addr") ||
      !resolve(options_.admin_addr, admin_at, "--admin-addr")) {
    return 2;
  }
  std::map<NodeId, tcp::endpoint> remotes;
  for (const auto& [id, address] : options_.peers) {
    if (id == options_.id) continue;
    if (!resolve(address, remotes[id], "peer " + std::to_string(id.value()))) return 2;
  }

  for (const std::string& note : options_.notes) log(note);
  consensus::Configuration initial;
  for (const auto& [id, address] : options_.peers) initial.voters.push_back(id);
  auto opened = replica::Replica::open(options_.replica, disk_, prng_, initial, now_time());
  if (!opened.ok()) {
    log("cannot recover the data dir " + options_.data_dir + ": " + opened.status().message);
    return 2;
  }
  replica_ = std::move(opened.value());
  log("recovered the data dir " + options_.data_dir + " at applied slot " +
      std::to_string(replica_->applied().value()) +
      "; initial configuration: " + consensus::to_string(initial));

  if (!listeners_.listen(peer_at, client_at, admin_at)) return 2;

  for (const auto& [id, remote] : remotes) {
    auto link = std::make_shared<PeerLink>(*this, id, remote, tcp::endpoint(peer_at.address(), 0));
    links_.emplace(id, link);
    link->start();
  }
  signals_.async_wait([this](const asio::error_code& ec, int signal) {
    if (ec) return;
    log(std::string("received ") + (signal == SIGTERM ? "SIGTERM" : "SIGINT") +
        "; shutting down");
    stop(0);
  });
  auto report = [this](std::string_view what) {
    return [this, what](const std::exception_ptr& e) {
      if (!e || stopping_) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& error) {
        log(std::string(what) + " stopped: " + error.what());
      }
      stop(1);
    };
  };
  asio::co_spawn(io_, ticker(), report("the ticker"));
  asio::co_spawn(io_, listeners_.accept_peers(), report("the peer listener"));
  asio::co_spawn(io_, listeners_.accept_clients(), report("the client listener"));
  asio::co_spawn(io_, listeners_.accept_admin(), report("the admin listener"));
  drain();  // whatever recovery produced
  io_.run();
  fsync_thread_.join();  // a sync still running finishes; its result is dropped
  snapshot_thread_.join();  // as a snapshot write still running
  return exit_code_;
}

// Inputs are drained once per turn of the event loop, not one by one: the
// writes of every request that arrived together go out as one proposal (one
// Accept per peer), and the frames for a connection as one gathered write.
void Server::after_input() {
  ++inputs_since_sync_;
  if (drain_scheduled_) return;
  drain_scheduled_ = true;
  asio::post(io_, [this] {
    drain_scheduled_ = false;
    if (!stopping_) drain();
  });
}

// Persist -> send -> apply is the replica's business (its messages are
// already held back until the writes they depend on are durable); here we
// only route what it produced.
void Server::drain() {
  SYNOD_ASSERT(replica_ != nullptr);
  replica::ReplicaOutput out = replica_->take_output();
  for (const auto& envelope : out.send) {
    const auto link = links_.find(envelope.to);
    if (link == links_.end()) {
      ++metrics_.peer_messages_dropped;  // a member we have no address for
      continue;
    }
    link->second->deliver(codec::encode_envelope(envelope, options_.cluster_id));
  }
  for (const auto& to_client : out.to_clients) {
    const auto client = clients_.find(to_client.client);
    if (client != clients_.end()) client->second->deliver(to_client.message);
  }
  for (const replica::ClientId id : out.notify_drained) {
    const auto client = clients_.find(id);
    if (client != clients_.end()) client->second->notify_when_drained();
  }
  for (const auto& note : out.notes) log(note);
  if (out.snapshot_job) start_snapshot(std::move(out.snapshot_job));
  if (out.sync_needed) maybe_schedule_sync();
  if (replica_->fatal()) {
    log("stopping after a disk error: " + *replica_->fatal());
    stop(1);
  }
}

// Group commit, pipelined: one fsync runs at a time, on the fsync thread,
// while this thread goes on taking requests and writing records. A sync
// starts once the completions already ready in this loop iteration are
// handled, and covers every record written before it starts; whatever is
// written while it runs waits for the next one, which starts as soon as it
// ends. So at load each fdatasync covers everything that arrived during the
// previous one, and an idle server syncs a lone write at once.
void Server::maybe_schedule_sync() {
  if (sync_scheduled_ || sync_running_ || stopping_) return;
  sync_scheduled_ = true;
  asio::post(io_, [this] { start_sync(); });
}

void Server::start_sync() {
  sync_scheduled_ = false;
  if (stopping_ || sync_running_ || !replica_->wants_sync()) return;
  auto ticket = replica_->begin_sync();
  if (!ticket) {
    drain();  // reports the disk error (read-only, or fatal: then it stops)
    return;
  }
  sync_running_ = true;
  const std::uint64_t inputs = std::exchange(inputs_since_sync_, 0);
  auto shared = std::make_shared<replica::Replica::SyncTicket>(std::move(*ticket));
  asio::post(fsync_thread_, [this, shared, inputs] {
    const auto started = Clock::now();
    wal::Status ran = shared->pending.run();
    const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
    asio::post(io_, [this, shared, ran = std::move(ran), seconds, inputs] {
      finish_sync(*shared, ran, seconds, inputs);
    });
  });
}

void Server::finish_sync(const replica::Replica::SyncTicket& ticket, const wal::Status& ran,
                         double seconds, std::uint64_t inputs) {
  SYNOD_ASSERT_MSG(sync_running_, "one sync at a time, finished after it started");
  sync_running_ = false;
  if (stopping_) return;
  metrics_.fsync.observe(seconds);
  metrics_.fsync_batch_inputs += inputs;
  if (const auto error = replica_->finish_sync(ticket, ran)) {
    log("stopping: the write-ahead log could not be synced: " + *error);
    stop(1);
    return;
  }
  drain();  // the votes that waited for this sync; schedules the next one
}

// Off the loop: the snapshot's fsyncs and file write run on their own
// thread; the result comes back to the replica here.
void Server::start_snapshot(std::unique_ptr<replica::SnapshotJob> job) {
  auto shared = std::shared_ptr<replica::SnapshotJob>(std::move(job));
  asio::post(snapshot_thread_, [this, shared] {
    const auto started = Clock::now();
    (void)shared->run();
    const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
    asio::post(io_, [this, shared, seconds] {
      if (stopping_) return;
      log("node " + std::to_string(options_.id.value()) + "'s snapshot write at slot " +
          std::to_string(shared->slot().value()) + " took " + std::to_string(seconds) +
          " s off the event loop");
      // The replica takes the job back (and owns it from here).
      replica_->finish_snapshot(std::make_unique<replica::SnapshotJob>(std::move(*shared)));
      drain();
    });
  });
}

void Server::stop(int exit_code) {
  SYNOD_ASSERT(exit_code == 0 || exit_code == 1);
  if (stopping_) return;
  stopping_ = true;
  exit_code_ = exit_code;
  listeners_.stop_accepting();
  for (auto& [id, link] : links_) link->stop();
  listeners_.close_inbound_peers();
  auto clients = clients_;  // close() may erase
  for (auto& [id, client] : clients) client->close("", /*quiet=*/true);
  tick_timer_.cancel();
  signals_.cancel();
  if (replica_ && exit_code == 0) {
    if (const auto error = replica_->sync()) {
      log("the final sync failed: " + *error);
      exit_code_ = 1;
    }
  }
  log(exit_code_ == 0 ? "stopped cleanly" : "stopped with exit code " + std::to_string(exit_code_));
  io_.stop();
}

awaitable<void> Server::ticker() {
  SYNOD_ASSERT_MSG(options_.replica.tick_ms > 0, "ReplicaOptions::validate checks tick_ms");
  const auto tick = std::chrono::milliseconds(options_.replica.tick_ms);
  auto next = Clock::now();
  while (!stopping_) {
    next += tick;
    tick_timer_.expires_at(next);
    co_await tick_timer_.async_wait(use_tuple);
    if (stopping_) co_return;
    const auto now = Clock::now();
    if (now - next > 100 * tick) next = now;  // after a long stall: no burst of ticks
    ++metrics_.ticks;
    replica_->on_tick(now_time());
    after_input();
  }
}

std::string Server::admin_answer(std::string_view head) const {
  return runtime::admin_answer(head, options_, metrics_, *replica_, disk_);
}

int run(const RuntimeOptions& options, wal::Disk& disk) {
  Server server(options, disk);
  return server.run();
}

}  // namespace synod::runtime
