#include "tests/sim/store_cluster.h"

#include <algorithm>
#include <cstdio>
#include <deque>
#include <limits>

#include "base/hash.h"
#include "client/core/session_core.h"
#include "client/core/watch_set.h"
#include "server/codec/peer.h"

namespace synod::sim {

namespace {

constexpr std::int64_t tick_ms = 10;
constexpr std::int64_t wall_epoch_ms = 1'764'000'000'000;
constexpr std::uint32_t paths = 6;

bool applied_error(protocol::Error e) {
  return e != protocol::Error::TIMEOUT && e != protocol::Error::NOT_LEADER &&
         e != protocol::Error::LIMIT_EXCEEDED && e != protocol::Error::CONNECTION_LOSS;
}

protocol::Path path_of(const std::string& text) { return protocol::Path::parse(text).value(); }

}  // namespace

struct StoreCluster::Server {
  Server(NodeId node, base::Prng seeded) : id(node), prng(seeded) {}
  NodeId id;
  wal::MemoryDisk disk;
  base::Prng prng;
  std::unique_ptr<replica::Replica> replica;  // null while crashed
  std::uint64_t incarnation = 0;
  std::uint64_t restart_tick = 0;
  // The fsync in flight, as synodd runs it on its fsync thread: begun when
  // the replica asked, run and finished at sync_done_tick. What the replica
  // writes meanwhile waits for the next one.
  std::optional<std::uint64_t> sync_done_tick;
  std::optional<replica::Replica::SyncTicket> sync_ticket;
  // The snapshot write in flight, as synodd runs it on its snapshot thread:
  // taken from the output, run and finished at snapshot_done_tick.
  std::unique_ptr<replica::SnapshotJob> snapshot_job;
  std::uint64_t snapshot_done_tick = 0;
  // Connections the replica asked about (a paged watch replay): they have
  // read everything by the next tick, which tells the replica so.
  std::vector<replica::ClientId> drained_next_tick;
  // A stalled server (its process descheduled, its event loop blocked): it
  // ticks, reads and finishes syncs only from stalled_until on; what reached
  // it meanwhile waits in its socket buffers (held), in arrival order.
  std::uint64_t stalled_until = 0;
  struct Held {
    std::optional<consensus::Envelope> packet;
    replica::ClientId connection{};
    std::optional<protocol::ClientRequest> request;  // neither: the connection closed
  };
  std::deque<Held> held;
};

struct StoreCluster::Op {
  enum class Kind { write, get, exists, children, watch, from_watch, sync };
  Kind kind = Kind::write;
  std::string path;
  Zxid required{};            // every operation completed before this one began
  bool linearizable = false;  // held to real-time order
  bool watch = false;         // a read that sets a one-shot watch
};

// A simulated user: the real client/core SessionCore, whose frames cross the
// codec both ways, plus what the checker remembers about it.
struct StoreCluster::Client {
  Client(std::uint32_t i, std::uint64_t seed) : index(i), prng(seed) {}
  std::uint32_t index;
  base::Prng prng;
  std::vector<NodeId> servers;  // what its session may connect to, in order
  // A scenario's client (add_client): its timeout is given, and it keeps
  // every answer for the scenario to read.
  bool scripted = false;
  bool silenced = false;  // silence_client(): gone for good, sends nothing
  std::int64_t session_timeout_ms = 0;
  std::map<client::RequestId, client::Completed> answers;
  // Its writes not yet sent, in submit order (the order the core sends
  // them), and each sent one's wire id: the sequence the store knows it by.
  std::deque<client::RequestId> unsent_writes;
  std::map<client::RequestId, std::uint64_t> wire_ids;
  std::unique_ptr<client::SessionCore> core;
  NodeId server{};
  std::optional<replica::ClientId> connection;
  std::map<client::RequestId, Op> ops;
  Zxid response_max{};  // highest zxid in any served response on this connection
  Zxid moved_from{};    // the zxid it had seen when it connected here
  std::uint64_t new_session_tick = 0;
  bool watcher = false;
  bool watch_registered = false;
  bool watch_pending = false;
  std::size_t event_cursor = 0;
  // A non-watcher's one-shot watches the server registered, with the zxid
  // of the answer that set them; they go as they fire.
  std::map<std::pair<std::string, protocol::WatchKind>, Zxid> one_shots;
  // A non-watcher's persistent watch from a past zxid: the next model event
  // on its path it must receive (an index into model_events_by_path_).
  struct FromWatch {
    std::string path;
    Zxid from{};
    std::size_t next = 0;
    bool answered = false;
  };
  std::optional<FromWatch> from_watch;
  // A watch request whose outcome is unknown (a timeout): the server may
  // hold a watch the checker does not know, so its events are not judged.
  bool lax = false;
  std::optional<protocol::Event> last_event;  // the last one it received
  void forget_watches() {
    one_shots.clear();
    from_watch.reset();
    lax = false;
  }
};

// Canary ignore-session-order breaks a rule the model shares, so it is on in
// the model too: the exactly-once and per-connection order checks, not the
// digest comparison, must catch it.
StoreCluster::StoreCluster(const SimOptions& options, bool log_notes)
    : options_(options),
      log_notes_(log_notes),
      prng_(options.seed ^ 0x5707e),
      network_(options_),
      model_(store::StoreConfig{.canary_ignore_session_order =
                                    options.canary == "ignore-session-order"}) {
  for (std::uint32_t i = 1; i <= options_.replicas; ++i) {
    auto server = std::make_unique<Server>(NodeId{i}, base::Prng(options_.seed * 131 + i));
    Server& s = *server;
    servers_.emplace(NodeId{i}, std::move(server));
    start(s);
  }
  const auto count = options_.clients != 0 ? options_.clients
                                           : static_cast<std::uint32_t>(prng_.range(2, 5));
  for (std::uint32_t i = 0; i < count; ++i) {
    auto client = std::make_unique<Client>(i, options_.seed * 977 + i);
    for (std::uint32_t n = 1; n <= options_.replicas; ++n) client->servers.push_back(NodeId{n});
    client->watcher = i == 0 || prng_.chance(1, 3);
    clients_.push_back(std::move(client));
  }
}

StoreCluster::~StoreCluster() = default;

replica::Time StoreCluster::time_at(const Server&) const {
  const auto ms = static_cast<std::int64_t>(now_) * tick_ms;
  return replica::Time{ms, wall_epoch_ms + ms};
}

void StoreCluster::fail(std::string why) {
  if (!failure_) failure_ = std::move(why);
}

void StoreCluster::log_line(const std::string& line) const {
  if (log_notes_) std::printf("[%6llu] %s\n", static_cast<unsigned long long>(now_), line.c_str());
}

void StoreCluster::start(Server& s) {
  replica::ReplicaOptions o;
  o.core = options_.core;
  o.core.self = s.id;
  // Store snapshots are kilobytes, not the consensus workload's few bytes;
  // chunks sized for those would make a transfer outlast the liveness bound.
  // (Scenarios keep the 1 MiB default, which stays: a chunk fits a frame.)
  if (o.core.snapshot_chunk_bytes_max < 65536) o.core.snapshot_chunk_bytes_max *= 64;
  o.tick_ms = tick_ms;
  o.snapshot_every = options_.snapshot_every;
  o.wal.segment_bytes_max = options_.wal_segment_bytes;
  o.session_timeout_ms_min = std::max<std::int64_t>(1000, 2 * tick_ms * o.core.election_ticks);
  o.session_timeout_ms_max = 4 * o.session_timeout_ms_min;
  o.request_timeout_ms = 4 * o.session_timeout_ms_min;
  // Small pages, so that watch-from-zxid replays are paged (1 to 4 events).
  o.watch_replay_page_events = static_cast<std::uint32_t>(1 + options_.seed % 4);
  o.store.canary_keep_ephemerals_on_expiry = options_.canary == "keep-ephemerals-on-expiry";
  o.store.canary_ignore_fence = options_.canary == "ignore-fence";
  o.store.canary_ignore_session_order = options_.canary == "ignore-session-order";
  o.canaries.drop_watch_event = options_.canary == "drop-watch-event";
  o.canaries.phantom_watch_event = options_.canary == "phantom-watch-event";
  o.canaries.skip_wal_sync = options_.canary == "skip-wal-sync";
  o.canaries.children_skip_last = options_.canary == "children-skip-last";
  o.canaries.rewatch_never_fires = options_.canary == "rewatch-never-fires";
  o.canaries.replay_page_gap = options_.canary == "replay-page-gap";
  o.watches.canary_keep_fired_one_shots = options_.canary == "one-shot-fires-twice";
  o.watches.canary_ignore_compaction = options_.canary == "silent-compaction";
  // A short history, so that watches from old zxids are answered COMPACTED.
  o.watches.history_events_max = 8 + options_.seed % 32;
  consensus::Configuration initial;
  for (std::uint32_t i = 1; i <= options_.replicas; ++i) initial.voters.push_back(NodeId{i});
  s.prng = base::Prng(options_.seed * 131 + s.id.value() * 7 + s.incarnation);
  auto opened = replica::Replica::open(o, s.disk, s.prng, initial, time_at(s));
  if (!opened.ok()) {
    fail(node_name(s.id) + " could not recover: " + opened.status().message);
    return;
  }
  s.replica = std::move(opened.value());
  s.replica->set_observer(this);
  handle(s);
}

void StoreCluster::crash(Server& s) {
  log_line(node_name(s.id) + " crashes");
  for (auto& client : clients_) {
    if (client->connection && client->server == s.id) {
      by_connection_.erase(*client->connection);
      client->connection.reset();
      client->core->on_disconnected(now_ms());
    }
  }
  s.replica.reset();
  s.disk.crash(prng_);
  s.sync_done_tick.reset();
  s.sync_ticket.reset();
  s.snapshot_job.reset();
  s.drained_next_tick.clear();
  s.stalled_until = 0;
  s.held.clear();
  s.restart_tick = now_ + prng_.range(1, options_.restart_ticks_max);
  ++s.incarnation;
  ++result_.crashes;
}

// Routes everything the replica produced: peers, clients, the sync request.
void StoreCluster::handle(Server& s) {
  if (!s.replica) return;
  replica::ReplicaOutput out = s.replica->take_output();
  s.replica->check_invariants();  // the replica's rooms, after every event
  for (const std::string& note : out.notes) log_line(note);
  for (const auto& e : out.send) {
    // Every peer message crosses the wire format, so codec bugs surface too.
    auto decoded = codec::decode_peer(codec::encode_peer(e.message));
    if (!decoded.ok()) {
      fail("codec: a peer message did not survive the wire: " + decoded.status().message);
      return;
    }
    network_.send(consensus::Envelope{e.from, e.to, std::move(decoded.value())}, now_, faults_,
                  prng_);
  }
  for (const replica::ToClient& to : out.to_clients) {
    auto it = by_connection_.find(to.client);
    if (it != by_connection_.end()) on_server_message(*it->second, to.message);
  }
  s.drained_next_tick.insert(s.drained_next_tick.end(), out.notify_drained.begin(),
                             out.notify_drained.end());
  if (out.sync_needed && !s.sync_done_tick) begin_sync(s);
  if (out.snapshot_job) {
    SYNOD_ASSERT(s.snapshot_job == nullptr);
    s.snapshot_job = std::move(out.snapshot_job);
    s.snapshot_done_tick = now_ + prng_.range(options_.sync_ticks_min, 2 * options_.sync_ticks_max);
  }
  if (s.replica && s.replica->fatal()) fail(node_name(s.id) + ": " + *s.replica->fatal());
}

void StoreCluster::tick_servers() {
  for (auto& [id, s] : servers_) {
    if (!s->replica || s->stalled_until > now_) continue;
    if (!s->held.empty()) resume(*s);
    if (!s->replica) continue;
    const std::vector<replica::ClientId> drained = std::move(s->drained_next_tick);
    s->drained_next_tick.clear();
    for (const replica::ClientId connection : drained) {
      if (!by_connection_.contains(connection)) continue;
      s->replica->on_client_drained(connection);
      handle(*s);
    }
    s->replica->on_tick(time_at(*s));
    handle(*s);
  }
}

// The end of a stall: what waited in the socket buffers arrives, in order.
void StoreCluster::resume(Server& s) {
  log_line(node_name(s.id) + " resumes after a stall; " + std::to_string(s.held.size()) +
           " arrival(s) waited");
  std::deque<Server::Held> held = std::move(s.held);
  s.held.clear();
  for (Server::Held& h : held) {
    if (!s.replica) return;
    if (h.packet) {
      s.replica->on_message(h.packet->from, h.packet->message);
    } else if (h.request) {
      s.replica->on_request(h.connection, std::move(*h.request));
    } else {
      s.replica->on_client_gone(h.connection);
    }
    handle(s);
  }
}

void StoreCluster::deliver_packets() {
  while (auto envelope = network_.next_due(now_)) {
    auto it = servers_.find(envelope->to);
    if (it == servers_.end() || !it->second->replica) continue;
    if (it->second->stalled_until > now_) {
      it->second->held.push_back(Server::Held{std::move(*envelope), {}, std::nullopt});
      continue;
    }
    it->second->replica->on_message(envelope->from, envelope->message);
    handle(*it->second);
  }
}

void StoreCluster::begin_sync(Server& s) {
  auto ticket = s.replica->begin_sync();
  if (!ticket) return;  // fatal; handle() reports it
  s.sync_ticket = std::move(ticket);
  s.sync_done_tick = now_ + prng_.range(options_.sync_ticks_min, options_.sync_ticks_max);
}

void StoreCluster::complete_syncs() {
  for (auto& [id, s] : servers_) {
    if (!s->replica || s->stalled_until > now_) continue;
    if (!s->sync_done_tick || *s->sync_done_tick > now_) continue;
    s->sync_done_tick.reset();
    replica::Replica::SyncTicket ticket = std::move(*s->sync_ticket);
    s->sync_ticket.reset();
    (void)s->replica->finish_sync(ticket, ticket.pending.run());
    if (s->replica->wants_sync()) begin_sync(*s);
    handle(*s);
  }
  for (auto& [id, s] : servers_) {
    if (!s->replica || s->stalled_until > now_) continue;
    if (!s->snapshot_job || s->snapshot_done_tick > now_) continue;
    std::unique_ptr<replica::SnapshotJob> job = std::move(s->snapshot_job);
    (void)job->run();
    s->replica->finish_snapshot(std::move(job));
    handle(*s);
  }
}

StoreCluster::Server* StoreCluster::leader() {
  Server* best = nullptr;
  for (auto& [id, s] : servers_) {
    if (!s->replica || s->replica->disk_failure() || !s->replica->core().is_leader()) continue;
    if (best == nullptr || s->replica->core().promised() > best->replica->core().promised()) {
      best = s.get();
    }
  }
  return best;
}

void StoreCluster::fault_schedule() {
  for (auto& [id, s] : servers_) {
    if (!s->replica && (s->restart_tick <= now_ || !faults_)) {
      log_line(node_name(id) + " restarts");
      start(*s);
    }
  }
  if (!faults_) return;
  if (prng_.chance_permille(options_.crash_permille)) {
    std::vector<Server*> up;
    for (auto& [id, s] : servers_) {
      if (s->replica) up.push_back(s.get());
    }
    if (!up.empty()) crash(*prng_.pick(std::span<Server*>(up)));
  }
  if (options_.stall_permille > 0 && prng_.chance_permille(options_.stall_permille)) {
    std::vector<Server*> running;
    for (auto& [id, s] : servers_) {
      if (s->replica && s->stalled_until <= now_) running.push_back(s.get());
    }
    if (!running.empty()) {
      Server& s = *prng_.pick(std::span<Server*>(running));
      s.stalled_until = now_ + prng_.range(1, options_.stall_ticks_max);
      log_line(node_name(s.id) + " stalls until tick " + std::to_string(s.stalled_until));
    }
  }
  std::vector<NodeId> ids;
  for (const auto& [id, s] : servers_) ids.push_back(id);
  const Server* l = leader();
  if (auto changed = network_.schedule(now_, std::move(ids),
                                       l ? std::optional<NodeId>(l->id) : std::nullopt, prng_)) {
    log_line(*changed);
  }
}

// ---- clients ----

std::int64_t StoreCluster::now_ms() const { return static_cast<std::int64_t>(now_) * tick_ms; }

void StoreCluster::new_session(Client& c) {
  client::ClientOptions o;
  for (NodeId server : c.servers) o.servers.push_back(std::to_string(server.value()));
  o.session_timeout_ms = 1000 + static_cast<std::int64_t>(c.prng.below(2000));
  if (c.scripted) o.session_timeout_ms = c.session_timeout_ms;
  // Longer than the server's own request timeout, so the server answers first.
  const std::int64_t server_session_min_ms =
      std::max<std::int64_t>(1000, 2 * tick_ms * options_.core.election_ticks);
  o.request_timeout_ms = 8 * server_session_min_ms;
  o.connect_timeout_ms = 4 * server_session_min_ms;
  o.backoff_min_ms = tick_ms;
  o.backoff_max_ms = 20 * tick_ms;
  c.core = std::make_unique<client::SessionCore>(o, c.prng);
  c.ops.clear();
  c.watch_registered = false;
  c.watch_pending = false;
  c.forget_watches();
  c.core->start(now_ms());
}

// Carries out the core's actions and hands its events to the checker, until
// it has nothing more to say.
void StoreCluster::pump_client(Client& c) {
  for (int round = 0; round < 64; ++round) {
    std::vector<client::Action> actions = c.core->take_actions();
    std::vector<client::Event> events = c.core->take_events();
    for (const std::string& note : c.core->take_notes()) {
      log_line("client " + std::to_string(c.index) + ": " + note);
    }
    if (actions.empty() && events.empty()) return;
    for (client::Action& action : actions) {
      if (const auto* connect = std::get_if<client::Connect>(&action)) {
        attach(c, c.servers.at(connect->server));
      } else if (auto* send = std::get_if<client::Send>(&action)) {
        deliver(c, send->bytes);
      } else {
        detach(c);
      }
    }
    for (client::Event& event : events) on_client_event(c, event);
  }
}

void StoreCluster::attach(Client& c, NodeId server) {
  detach(c);
  auto it = servers_.find(server);
  if (it == servers_.end() || !it->second->replica) {
    c.core->on_disconnected(now_ms());
    return;
  }
  c.server = server;
  c.connection = replica::ClientId{next_connection_++};
  by_connection_[*c.connection] = &c;
  c.response_max = Zxid{};
  c.moved_from = c.core->last_zxid();
  c.watch_registered = false;
  c.core->on_connected(now_ms());
}

void StoreCluster::detach(Client& c) {
  if (!c.connection) return;
  auto it = servers_.find(c.server);
  if (it != servers_.end() && it->second->replica) {
    if (it->second->stalled_until > now_) {
      it->second->held.push_back(Server::Held{std::nullopt, *c.connection, std::nullopt});
    } else {
      it->second->replica->on_client_gone(*c.connection);
    }
  }
  by_connection_.erase(*c.connection);
  c.connection.reset();
  c.watch_registered = false;
}

// A watch from a zxid not answered yet when its connection is lost (as the
// core tells, in order with the events it delivered) is sent again on the
// next connection, and its replay starts over.
void StoreCluster::restart_replay(Client& c) {
  if (!c.from_watch || c.from_watch->answered) return;
  const std::vector<protocol::Event>& on_path = model_events_by_path_[c.from_watch->path];
  const Zxid from = c.from_watch->from;
  c.from_watch->next = static_cast<std::size_t>(
      std::partition_point(on_path.begin(), on_path.end(),
                           [&](const protocol::Event& e) { return e.zxid <= from; }) -
      on_path.begin());
}

// A ClientFrame from the core reaches its server through the codec.
void StoreCluster::deliver(Client& c, const std::string& bytes) {
  if (!c.connection) return;
  auto request = protocol::decode_client(bytes);
  if (!request.ok()) return fail("codec: a client frame did not decode: " + request.status().message);
  if (c.scripted && !c.unsent_writes.empty() &&
      std::holds_alternative<protocol::WriteRequest>(request.value().body)) {
    c.wire_ids.emplace(c.unsent_writes.front(), request.value().request_id);
    c.unsent_writes.pop_front();
  }
  Server& s = *servers_.at(c.server);
  if (s.stalled_until > now_) {
    s.held.push_back(Server::Held{std::nullopt, *c.connection, std::move(request.value())});
    return;
  }
  s.replica->on_request(*c.connection, std::move(request.value()));
  handle(s);
}

void StoreCluster::on_server_message(Client& c, const protocol::ServerMessage& message) {
  std::string bytes;
  if (const auto* response = std::get_if<protocol::Response>(&message)) {
    bytes = protocol::encode_response(*response);
  } else if (const auto* event = std::get_if<protocol::WatchEvent>(&message)) {
    bytes = protocol::encode_watch_event(*event);
  } else {
    bytes = protocol::encode_session_event(std::get<protocol::SessionEvent>(message));
  }
  c.core->on_frame(now_ms(), bytes);
  check_safe_until(c);
}

client::RequestId StoreCluster::submit(Client& c, Op op, protocol::ClientBody body) {
  op.required = completed_zxid_max_;
  if (op.kind == Op::Kind::write || op.kind == Op::Kind::exists ||
      op.kind == Op::Kind::children || op.kind == Op::Kind::sync) {
    op.linearizable = true;
  }
  if (const auto* get = std::get_if<protocol::GetRequest>(&body)) {
    op.linearizable = get->mode == protocol::ReadMode::linearizable;
  }
  const client::RequestId id = c.core->submit(now_ms(), std::move(body));
  c.ops.emplace(id, std::move(op));
  return id;
}

void StoreCluster::issue(Client& c) {
  const std::string p = "/k" + std::to_string(prng_.below(paths));
  const std::string child = p + "/c";
  const std::uint64_t r = prng_.below(100);
  auto write = [&](protocol::Op op, std::optional<protocol::Fence> fence = std::nullopt) {
    submit(c, Op{Op::Kind::write, {}, {}, false},
           protocol::WriteRequest{std::move(fence), std::move(op)});
  };
  auto version = [&]() -> std::optional<std::int32_t> {
    if (prng_.chance(1, 2)) return std::nullopt;
    return static_cast<std::int32_t>(prng_.below(4));
  };
  const std::string data = "v" + std::to_string(prng_.below(1000));
  if (r < 22) {
    protocol::CreateOp op;
    op.path = path_of(prng_.chance(1, 3) ? child : p);
    op.data = data;
    const std::uint64_t kind = prng_.below(12);
    if (kind < 3) op.kind = protocol::NodeKind::ephemeral;
    if (kind == 10) {
      op.kind = protocol::NodeKind::ttl;  // removed by the leader once idle this long
      op.ttl_ms = static_cast<std::int64_t>(prng_.range(20, 400)) * tick_ms;
    }
    if (kind == 11) op.kind = protocol::NodeKind::container;
    if (kind >= 8 && kind < 10) {
      op.sequential = true;
      op.path = path_of(p + "/s-");
      op.parents = protocol::MissingParents::create_persistent;
    }
    write(std::move(op));
  } else if (r < 37) {
    write(protocol::SetOp{path_of(p), data, version()});
  } else if (r < 45) {
    write(protocol::DeleteOp{path_of(prng_.chance(1, 3) ? child : p), version()});
  } else if (r < 79) {
    issue_read(c, p);
  } else if (r < 85) {
    protocol::MultiRequest multi;
    multi.ops.push_back(protocol::MultiOp{protocol::CheckOp{path_of(p), version()}, std::nullopt});
    multi.ops.push_back(protocol::MultiOp{
        protocol::SetOp{path_of("/k" + std::to_string(prng_.below(paths))), data, std::nullopt},
        std::nullopt});
    submit(c, Op{Op::Kind::write, {}, {}, false}, std::move(multi));
  } else if (r < 93) {
    // A fenced write: the token is /k0's current czxid (by the model) or stale.
    Zxid token{prng_.below(model_applied_.value() + 1)};
    if (prng_.chance(1, 2)) {
      if (auto got = model_.get(path_of("/k0")); got.ok()) token = got.value().stat.czxid;
    }
    write(protocol::SetOp{path_of("/k1"), data, std::nullopt},
          protocol::Fence{path_of("/k0"), token});
  } else if (r < 95) {
    submit(c, Op{Op::Kind::sync, {}, {}, false}, protocol::SyncRequest{});
  } else if (r < 98) {
    issue_from_watch(c, p);
  } else {
    (void)c.core->close(now_ms());
  }
}

// A get, exists or children read of `p` (children also of /); a client
// without the recursive watch sets a one-shot watch with a third of them,
// unless a watch from a zxid is on the path.
void StoreCluster::issue_read(Client& c, const std::string& p) {
  const std::uint64_t r = prng_.below(19);
  const bool watch = !c.watcher && prng_.chance(1, 3) && !(c.from_watch && c.from_watch->path == p);
  if (r < 10) {
    const auto mode =
        prng_.chance(4, 5) ? protocol::ReadMode::linearizable : protocol::ReadMode::sequential;
    submit(c, Op{Op::Kind::get, p, {}, false, watch},
           protocol::GetRequest{path_of(p), watch, mode});
  } else if (r < 15) {
    submit(c, Op{Op::Kind::exists, p, {}, false, watch},
           protocol::ExistsRequest{path_of(p), watch, protocol::ReadMode::linearizable});
  } else {
    const std::string parent = prng_.chance(1, 2) ? std::string("/") : p;
    const bool on_parent = watch && !(c.from_watch && c.from_watch->path == parent);
    submit(c, Op{Op::Kind::children, parent, {}, false, on_parent},
           protocol::ChildrenRequest{path_of(parent), on_parent, protocol::ReadMode::linearizable,
                                     "", 100});
  }
}

// A persistent watch on `p` from a recent or an old zxid (old enough, at
// times, for the server's short history to answer COMPACTED), by a client
// without the recursive watch and without any other watch on `p`.
void StoreCluster::issue_from_watch(Client& c, const std::string& p) {
  // Another watch on `p`, held or asked for, would share its events.
  const bool other = std::any_of(c.one_shots.begin(), c.one_shots.end(),
                                 [&](const auto& w) { return w.first.first == p; }) ||
                     std::any_of(c.ops.begin(), c.ops.end(), [&](const auto& op) {
                       return op.second.watch && op.second.path == p;
                     });
  if (c.watcher || c.from_watch || other || c.lax) {
    submit(c, Op{Op::Kind::sync, {}, {}, false}, protocol::SyncRequest{});
    return;
  }
  const std::uint64_t top = c.core->last_zxid().value();
  const Zxid from{top - std::min<std::uint64_t>(top, prng_.below(60))};
  const std::vector<protocol::Event>& on_path = model_events_by_path_[p];
  const auto next = std::partition_point(on_path.begin(), on_path.end(),
                                         [&](const protocol::Event& e) { return e.zxid <= from; });
  c.from_watch =
      Client::FromWatch{p, from, static_cast<std::size_t>(next - on_path.begin()), false};
  submit(c, Op{Op::Kind::from_watch, p, {}, false},
         protocol::SetWatchRequest{path_of(p), protocol::WatchKind::persistent, from});
}

void StoreCluster::client_schedule() {
  for (auto& cp : clients_) {
    Client& c = *cp;
    if (c.silenced) continue;
    if (!c.core || ((c.core->phase() == client::Phase::expired ||
                     c.core->phase() == client::Phase::closed) &&
                    c.new_session_tick <= now_)) {
      detach(c);
      new_session(c);
    }
    c.core->on_tick(now_ms());
    const bool ready = c.core->phase() == client::Phase::connected;
    if (ready && faults_ && prng_.chance_permille(options_.client_move_permille)) {
      detach(c);
      c.core->on_disconnected(now_ms());  // it moves to another server
    } else if (ready && c.watcher && !c.watch_registered && !c.watch_pending) {
      c.watch_pending = true;
      submit(c, Op{Op::Kind::watch, "/", {}, false},
             protocol::SetWatchRequest{protocol::Path::root(),
                                       protocol::WatchKind::persistent_recursive, std::nullopt});
    } else if (ready && faults_ && c.ops.size() < 3 &&
               prng_.chance_permille(options_.propose_permille)) {
      issue(c);
    }
    pump_client(c);
  }
}

void StoreCluster::on_client_event(Client& c, const client::Event& event) {
  if (const auto* done = std::get_if<client::Completed>(&event)) {
    auto it = c.ops.find(done->id);
    if (it == c.ops.end()) return;
    const Op op = it->second;
    c.ops.erase(it);
    if (c.scripted) {
      c.answers.emplace(done->id, *done);
      std::erase(c.unsent_writes, done->id);  // completed without being sent
    }
    on_response(c, op, done->response);
    return;
  }
  if (const auto* fired = std::get_if<client::WatchFired>(&event)) {
    on_watch_event(c, fired->event);
    return;
  }
  const auto& changed = std::get<client::SessionChanged>(event);
  if (changed.status != client::SessionStatus::connected) c.watch_registered = false;
  if (changed.status == client::SessionStatus::disconnected) restart_replay(c);
  if (changed.status == client::SessionStatus::expired ||
      changed.status == client::SessionStatus::closed) {
    c.new_session_tick = now_ + prng_.range(1, 20);
    c.forget_watches();  // the session's watches end with it
  }
}

// Whether the model made `event`'s change at its zxid; or, for a delete a
// one-shot watch set again reports at the zxid it was set again (the
// replica's applied zxid then, perhaps an entry that changed nothing, such
// as a session move), whether the model deleted the node after the watch
// was set.
bool StoreCluster::model_made(const Client& c, const protocol::Event& event) const {
  if (model_event_keys_.contains({event.zxid, event.path, event.type})) return true;
  if (event.type != protocol::EventType::deleted) return false;
  // Two watches set again fire one delete twice, one after the other: the
  // first (judged while both were held) decided for both.
  if (c.last_event && *c.last_event == event) return true;
  Zxid armed = event.zxid;
  for (const auto& [key, at] : c.one_shots) {
    if (key.first == event.path) armed = std::min(armed, at);
  }
  const auto on_path = model_events_by_path_.find(event.path);
  if (on_path == model_events_by_path_.end()) return false;
  return std::any_of(on_path->second.begin(), on_path->second.end(), [&](const protocol::Event& e) {
    return e.type == protocol::EventType::deleted && e.zxid > armed && e.zxid <= event.zxid;
  });
}

void StoreCluster::on_watch_event(Client& c, const protocol::WatchEvent& fired) {
  const protocol::Event& event = fired.event;
  if (event.type == protocol::EventType::compacted) {
    // A watch the new server could not resume: it ended, and the watcher knows.
    if (c.watcher && fired.watch_path.text() == "/") c.watch_registered = false;
    if (c.from_watch && c.from_watch->path == event.path) c.from_watch.reset();
    c.one_shots.erase({event.path, fired.watch_kind});
    return;
  }
  if (!model_made(c, event)) {
    return fail("watches: client " + std::to_string(c.index) + " got an event of type " +
                std::to_string(static_cast<int>(event.type)) + " on " + event.path + " at zxid " +
                std::to_string(event.zxid.value()) +
                ", a change the chosen log did not make (a phantom event)");
  }
  // A replay from a past zxid delivers changes older than answers already
  // seen, by design; everything else comes before any higher answer.
  const bool replayed = c.from_watch && !c.from_watch->answered &&
                        c.from_watch->path == event.path && event.zxid > c.from_watch->from;
  if (event.zxid <= c.response_max && !replayed) {
    return fail("watches: client " + std::to_string(c.index) + " got an event at zxid " +
                std::to_string(event.zxid.value()) +
                " after a response at a zxid at least as high");
  }
  if (!c.watcher) return check_client_watches(c, fired);
  if (!c.watch_registered) return;
  while (c.event_cursor < model_events_.size() &&
         model_events_[c.event_cursor].type == protocol::EventType::children_changed) {
    ++c.event_cursor;
  }
  if (c.event_cursor >= model_events_.size()) {
    return fail("watches: client " + std::to_string(c.index) +
                " got an event the chosen log does not have");
  }
  const protocol::Event& expected = model_events_[c.event_cursor++];
  if (!(expected == event)) {
    return fail("watches: client " + std::to_string(c.index) + " expected the event at zxid " +
                std::to_string(expected.zxid.value()) + " on " + expected.path +
                " but got one at zxid " + std::to_string(event.zxid.value()) + " on " +
                event.path + " (a gap or a reorder)");
  }
}

void StoreCluster::on_response(Client& c, const Op& op, const protocol::Response& response) {
  const protocol::Error error = response.status.error;
  const bool sent = response.request_id != 0;
  std::optional<std::pair<SessionId, std::uint64_t>> key;
  if (op.kind == Op::Kind::write) key = std::pair{c.core->session(), response.request_id};
  const bool served =
      sent && applied_error(error) &&
      !(key && error == protocol::Error::SESSION_EXPIRED && !model_writes_.contains(*key));
  if (served) {
    if (response.zxid < c.response_max || response.zxid < c.moved_from) {
      return fail("sessions: client " + std::to_string(c.index) + " saw zxid " +
                  std::to_string(std::max(c.response_max, c.moved_from).value()) +
                  " and then a response at zxid " + std::to_string(response.zxid.value()) +
                  " from " + node_name(c.server) + " (" + std::string(protocol::error_name(error)) +
                  ")");
    }
    if (op.linearizable && response.zxid < op.required) {
      return fail("real time: client " + std::to_string(c.index) + " got zxid " +
                  std::to_string(response.zxid.value()) + " for an operation that began after " +
                  "zxid " + std::to_string(op.required.value()) + " had completed");
    }
    c.response_max = std::max(c.response_max, response.zxid);
    if (op.linearizable) completed_zxid_max_ = std::max(completed_zxid_max_, response.zxid);
  }
  switch (op.kind) {
    case Op::Kind::watch:
      c.watch_pending = false;
      if (error == protocol::Error::OK) {
        c.watch_registered = true;
        c.event_cursor = static_cast<std::size_t>(
            std::partition_point(
                model_events_.begin(), model_events_.end(),
                [&](const protocol::Event& e) { return e.zxid <= response.zxid; }) -
            model_events_.begin());
      }
      return;
    case Op::Kind::write:
      if (served) check_write(c, *key, response);
      return;
    case Op::Kind::from_watch: on_from_watch_answer(c, response); return;
    case Op::Kind::get:
    case Op::Kind::exists:
      if (served) check_read(c, op, response);
      if (op.watch) on_watch_answer(c, op, response);
      return;
    case Op::Kind::children:
      if (served) check_children(c, op, response);
      if (op.watch) on_watch_answer(c, op, response);
      return;
    default:
      return;
  }
}

// What a read with watch = true registered, as the client core judges it
// (watch_set.h): a get or children read that found the node, an exists
// read found or not. A timeout's outcome is unknown.
void StoreCluster::on_watch_answer(Client& c, const Op& op, const protocol::Response& response) {
  const protocol::Error error = response.status.error;
  if (error == protocol::Error::TIMEOUT) {
    c.lax = true;
    return;
  }
  const protocol::WatchKind kind = op.kind == Op::Kind::get      ? protocol::WatchKind::data
                                   : op.kind == Op::Kind::exists ? protocol::WatchKind::exists
                                                                 : protocol::WatchKind::children;
  const bool registered = error == protocol::Error::OK ||
                          (op.kind == Op::Kind::exists && error == protocol::Error::NO_NODE);
  if (registered) c.one_shots.try_emplace({op.path, kind}, response.zxid);
}

// A watch from a zxid answered OK has delivered, before its answer, every
// model event on its path after that zxid up to the answer's.
void StoreCluster::on_from_watch_answer(Client& c, const protocol::Response& response) {
  if (!c.from_watch) return;
  Client::FromWatch& watch = *c.from_watch;
  if (response.status.error != protocol::Error::OK) {
    // A replay refused after some pages (its history went, or too much
    // waited behind it) still delivers the live events held behind it.
    const std::vector<protocol::Event>& on_path = model_events_by_path_[watch.path];
    const bool started = watch.next > 0 && on_path[watch.next - 1].zxid > watch.from;
    if (response.status.error == protocol::Error::TIMEOUT || started) c.lax = true;
    c.from_watch.reset();  // COMPACTED, or refused: nothing registered
    return;
  }
  const std::vector<protocol::Event>& on_path = model_events_by_path_[watch.path];
  const auto due = static_cast<std::size_t>(
      std::partition_point(on_path.begin(), on_path.end(),
                           [&](const protocol::Event& e) { return e.zxid <= response.zxid; }) -
      on_path.begin());
  if (watch.next != due) {
    return fail("watches: client " + std::to_string(c.index) + "'s watch on " + watch.path +
                " from zxid " + std::to_string(watch.from.value()) + " was answered at zxid " +
                std::to_string(response.zxid.value()) + " with " +
                std::to_string(due - std::min(due, watch.next)) +
                " of the model's events on it still unsent (a replay with a gap)");
  }
  watch.answered = true;
}

// Every event a client without the recursive watch receives is fired by a
// watch it holds: its watch from a zxid (exactly the model's next event on
// that path) or a one-shot watch, which goes as it fires.
void StoreCluster::check_client_watches(Client& c, const protocol::WatchEvent& fired) {
  const protocol::Event& event = fired.event;
  const std::string who = "watches: client " + std::to_string(c.index);
  // Watches set again after a move are one request each: two that fire on
  // one change deliver it twice, one after the other.
  bool expected = c.lax || (c.last_event && *c.last_event == event);
  c.last_event = event;
  if (c.from_watch && c.from_watch->path == event.path && event.zxid > c.from_watch->from) {
    Client::FromWatch& watch = *c.from_watch;
    const std::vector<protocol::Event>& on_path = model_events_by_path_[watch.path];
    if (watch.next >= on_path.size() || !(on_path[watch.next] == event)) {
      const std::string wanted = watch.next < on_path.size()
                                     ? "zxid " + std::to_string(on_path[watch.next].zxid.value())
                                     : "none";
      return fail(who + "'s watch on " + watch.path + " from zxid " +
                  std::to_string(watch.from.value()) + " expected the model's next event (" +
                  wanted + ") but got one at zxid " + std::to_string(event.zxid.value()) +
                  " (a gap in the replay, or a reorder)");
    }
    ++watch.next;
    expected = true;
  }
  for (auto it = c.one_shots.begin(); it != c.one_shots.end();) {
    const bool fires = client::watch_fires(it->first.second, it->first.first, event);
    if (fires) expected = true;
    it = fires ? c.one_shots.erase(it) : std::next(it);
  }
  if (!expected) {
    fail(who + " got an event of type " + std::to_string(static_cast<int>(event.type)) + " on " +
         event.path + " at zxid " + std::to_string(event.zxid.value()) +
         " that no watch it holds fires on (a one-shot watch fired twice?)");
  }
}

// Once the run settled: every one-shot watch still held saw no change the
// model made to its node since it was set, and every watch from a zxid has
// every event the model made on its path.
void StoreCluster::check_watches_settled() {
  for (const auto& cp : clients_) {
    const Client& c = *cp;
    if (c.watcher || c.lax || !c.core || c.core->phase() != client::Phase::connected) continue;
    for (const auto& [key, at] : c.one_shots) {
      const auto on_path = model_events_by_path_.find(key.first);
      if (on_path == model_events_by_path_.end()) continue;
      for (const protocol::Event& e : on_path->second) {
        if (e.zxid <= at || !client::watch_fires(key.second, key.first, e)) continue;
        return fail("watches: client " + std::to_string(c.index) + "'s one-shot watch (kind " +
                    std::to_string(static_cast<int>(key.second)) + ") on " + key.first +
                    " set at zxid " + std::to_string(at.value()) +
                    " never fired, though the model changed it at zxid " +
                    std::to_string(e.zxid.value()));
      }
    }
    if (c.from_watch && c.from_watch->answered &&
        c.from_watch->next != model_events_by_path_[c.from_watch->path].size()) {
      return fail("watches: client " + std::to_string(c.index) + "'s watch on " +
                  c.from_watch->path + " from zxid " + std::to_string(c.from_watch->from.value()) +
                  " missed events the model made on it");
    }
  }
}

// A children answer lists the model's children of the path at its zxid,
// names and stats, in name order, a page of at most 100.
void StoreCluster::check_children(Client& c, const Op& op, const protocol::Response& response) {
  const auto at = [&](const std::string& p) -> std::optional<protocol::Stat> {
    std::optional<protocol::Stat> stat;
    if (auto it = history_.find(p); it != history_.end()) {
      for (const Version& v : it->second) {
        if (v.zxid > response.zxid) break;
        stat = v.node ? std::optional(v.node->second) : std::nullopt;
      }
    }
    return stat;
  };
  const std::string where = "children: client " + std::to_string(c.index) + " listed " + op.path +
                            " at zxid " + std::to_string(response.zxid.value()) + " from " +
                            node_name(c.server);
  const bool exists = op.path == "/" || at(op.path).has_value();
  if ((response.status.error == protocol::Error::OK) != exists) {
    return fail(where + (exists ? " and did not find it, but it existed then"
                                : " and found it, but it did not exist then"));
  }
  if (!exists) return;
  const std::string prefix = op.path == "/" ? "/" : op.path + "/";
  std::vector<protocol::ChildEntry> expected;
  for (auto it = history_.lower_bound(prefix); it != history_.end(); ++it) {
    if (it->first.compare(0, prefix.size(), prefix) != 0) break;
    const std::string name = it->first.substr(prefix.size());
    if (name.empty() || name.find('/') != std::string::npos) continue;
    if (auto stat = at(it->first)) expected.push_back(protocol::ChildEntry{name, *stat});
  }
  const auto* page = std::get_if<protocol::ChildrenResult>(&response.body);
  if (page == nullptr) return fail(where + " but the answer holds no children page");
  const std::size_t shown = std::min<std::size_t>(expected.size(), 100);
  const bool same = page->entries.size() == shown &&
                    std::equal(page->entries.begin(), page->entries.end(), expected.begin()) &&
                    page->next_after.has_value() == (expected.size() > shown);
  if (!same) {
    return fail(where + ": " + std::to_string(page->entries.size()) + " children, but the model " +
                "had " + std::to_string(expected.size()) + " then (or their stats differ)");
  }
  ++result_.reads_served;
}

void StoreCluster::check_write(Client& c, const std::pair<SessionId, std::uint64_t>& key,
                               const protocol::Response& response) {
  auto it = model_writes_.find(key);
  if (it == model_writes_.end()) {
    return fail("model: client " + std::to_string(c.index) + "'s write answered at zxid " +
                std::to_string(response.zxid.value()) + " is not in the chosen log");
  }
  const auto& [slot, expected] = it->second;
  // A write refused for coming after a later one of its session (its first
  // copy, so it never applied) answers with the connection's last zxid.
  const bool refused = expected.status.error == protocol::Error::NOT_EXECUTED;
  if (Zxid{slot.value()} != response.zxid && !(refused && response.zxid < Zxid{slot.value()})) {
    return fail("model: a write answered at zxid " + std::to_string(response.zxid.value()) +
                " was chosen at slot " + std::to_string(slot.value()));
  }
  if (expected.status.error != response.status.error) {
    return fail("model: a write at zxid " + std::to_string(response.zxid.value()) + " answered " +
                std::string(protocol::error_name(response.status.error)) + " but the model says " +
                std::string(protocol::error_name(expected.status.error)));
  }
  acked_writes_.insert(key);
  ++result_.proposals;
  if (const auto* created = std::get_if<protocol::CreateResult>(&response.body)) {
    if (expected.ops.empty() || created->path != expected.ops.front().path ||
        !expected.ops.front().stat || !(created->stat == *expected.ops.front().stat)) {
      return fail("model: a create at zxid " + std::to_string(response.zxid.value()) +
                  " answered a different path or stat than the model");
    }
  }
  if (const auto* multi = std::get_if<protocol::MultiResult>(&response.body)) {
    if (!(multi->results == expected.ops)) {
      return fail("model: a multi at zxid " + std::to_string(response.zxid.value()) +
                  " answered different per-op results than the model");
    }
  }
}

void StoreCluster::check_read(Client& c, const Op& op, const protocol::Response& response) {
  std::optional<std::pair<std::string, protocol::Stat>> expected;
  if (auto it = history_.find(op.path); it != history_.end()) {
    for (const Version& v : it->second) {
      if (v.zxid > response.zxid) break;
      expected = v.node;
    }
  }
  ++result_.reads_served;
  const bool exists = response.status.error == protocol::Error::OK;
  const std::string where = "model: client " + std::to_string(c.index) + " read " + op.path +
                            " at zxid " + std::to_string(response.zxid.value()) + " from " +
                            node_name(c.server);
  if (exists != expected.has_value()) {
    return fail(where + (exists ? " and found it, but it did not exist then"
                                : " and did not find it, but it existed then"));
  }
  if (!exists) return;
  if (const auto* data = std::get_if<protocol::DataResult>(&response.body)) {
    if (data->data != expected->first || !(data->stat == expected->second)) {
      return fail(where + ": its data or stat differ from the model's at that zxid");
    }
  } else if (const auto* stat = std::get_if<protocol::StatResult>(&response.body)) {
    if (!(stat->stat == expected->second)) {
      return fail(where + ": its stat differs from the model's at that zxid");
    }
  }
}

// ---- the reference model ----

void StoreCluster::model_apply(Slot slot, const consensus::Entry& entry) {
  SYNOD_ASSERT(slot == next(model_applied_));
  model_applied_ = slot;
  entry_hashes_.push_back(consensus::entry_hash(entry));
  if (entry.kind == consensus::EntryKind::command) {
    const codec::LogCommand command = codec::decode_command(entry.data).value();
    const store::ApplyResult result = model_.apply(Zxid{slot.value()}, command.time_ms,
                                                   command.command, command.sequence);
    if (const auto* expire = std::get_if<store::ExpireSessionsCommand>(&command.command)) {
      note_expired(*expire);
    }
    if (command.sequence != 0) {
      const std::pair key{command.session, command.sequence};
      auto [it, first] = model_writes_.try_emplace(key, slot, result.response);
      // A write chosen twice (a duplicated Forward proposed by two leaders)
      // must change the store once: the second copy is refused, or fails
      // (its session is gone), changing nothing.
      if (!first && result.response.status.ok()) {
        fail("exactly once: a write applied again at slot " + std::to_string(slot.value()) +
             " (first at slot " + std::to_string(it->second.first.value()) + ")");
      }
    }
    for (const protocol::Event& e : result.events) {
      model_events_.push_back(e);
      model_events_by_path_[e.path].push_back(e);
      model_event_keys_.insert({e.zxid, e.path, e.type});
      Version v{e.zxid, std::nullopt};
      if (auto got = model_.get(path_of(e.path)); got.ok()) {
        v.node = std::pair{std::string(got.value().data), got.value().stat};
      }
      history_[e.path].push_back(std::move(v));
    }
  }
  model_digests_.push_back(model_.digest());
  if (slot.value() % 16 == 0) check_ephemerals(protocol::Path::root());
}

// The first replica to apply an expiry deletes the session's ephemerals
// there, now: from this moment another client may take its locks.
void StoreCluster::note_expired(const store::ExpireSessionsCommand& expire) {
  for (const SessionId s : expire.sessions) {
    if (!model_.session_exists(s)) expired_at_ms_.try_emplace(s, now_ms());
  }
  for (const auto& client : clients_) check_safe_until(*client);
}

// safe_until only ever grows, so one told too late stays visible.
void StoreCluster::check_safe_until(const Client& c) {
  if (c.core == nullptr) return;
  const auto expired = expired_at_ms_.find(c.core->session());
  if (expired == expired_at_ms_.end() || c.core->safe_until_ms() <= expired->second) return;
  fail("safe_until: client " + std::to_string(c.index) + " was told session " +
       std::to_string(c.core->session().value()) + " is safe until " +
       std::to_string(c.core->safe_until_ms()) + " ms, but its expiry was applied at " +
       std::to_string(expired->second) + " ms");
}

// An ephemeral exists exactly while its session lives: every node's owner is
// an open session, and every open session's ephemerals exist. Checked on the
// model directly, so a bug shared by the model and the replicas is caught too.
void StoreCluster::check_ephemerals(const protocol::Path& path) {
  if (path == protocol::Path::root()) {
    for (const store::SessionInfo& session : model_.sessions()) {
      auto owned = model_.ephemerals(session.id);
      if (!owned.ok()) continue;
      for (const std::string& p : owned.value()) {
        auto node = model_.get(path_of(p));
        if (!node.ok() || node.value().stat.ephemeral_owner != session.id) {
          return fail("ephemerals: session " + std::to_string(session.id.value()) + " owns " + p +
                      " but the node is gone or owned by another session");
        }
      }
    }
  }
  auto page = model_.children(path, "", protocol::children_page_max);
  if (!page.ok()) return;
  for (const protocol::ChildEntry& child : page.value().entries) {
    const SessionId owner = child.stat.ephemeral_owner;
    const protocol::Path child_path = path.child(child.name).value();
    if (owner != SessionId{0} && !model_.session_exists(owner)) {
      return fail("ephemerals: " + child_path.text() + " outlived its session " +
                  std::to_string(owner.value()));
    }
    check_ephemerals(child_path);
  }
}

void StoreCluster::applied(NodeId replica, Slot slot, const consensus::Entry& entry,
                           const store::Store& store) {
  const auto index = static_cast<std::size_t>(slot.value() - 1);
  if (index == entry_hashes_.size()) model_apply(slot, entry);
  if (index > entry_hashes_.size()) {
    return fail(node_name(replica) + " applied slot " + std::to_string(slot.value()) +
                " before the slots before it were chosen anywhere");
  }
  if (entry_hashes_[index] != consensus::entry_hash(entry)) {
    return fail("agreement: " + node_name(replica) + " applied a different value at slot " +
                std::to_string(slot.value()));
  }
  if (model_digests_[index] != store.digest()) {
    return fail("model: " + node_name(replica) + "'s store differs from the model after slot " +
                std::to_string(slot.value()));
  }
  result_.slots_chosen = std::max<std::uint64_t>(result_.slots_chosen, slot.value());
}

void StoreCluster::installed(NodeId replica, Slot slot, const store::Store& store) {
  ++result_.snapshots_installed;
  if (slot.value() > model_digests_.size() ||
      model_digests_[static_cast<std::size_t>(slot.value() - 1)] != store.digest()) {
    fail("model: " + node_name(replica) + " installed a snapshot at slot " +
         std::to_string(slot.value()) + " that differs from the model");
  }
}

bool StoreCluster::converged() const {
  for (const auto& c : clients_) {
    if (c->core && c->core->outstanding() + c->core->waiting() > 0) return false;
  }
  for (const auto& [id, s] : servers_) {
    if (!s->replica || s->replica->applied() != model_applied_) return false;
  }
  return true;
}

void StoreCluster::run_tick() {
  tick_servers();
  deliver_packets();
  complete_syncs();
  fault_schedule();
  client_schedule();
}

void StoreCluster::begin_liveness() {
  faults_ = false;
  network_.heal();
  log_line("liveness phase: the network heals and every crashed server restarts");
}

RunResult StoreCluster::run() {
  const std::uint64_t end = options_.fault_ticks + options_.liveness_ticks;
  for (now_ = 1; now_ <= end && !failure_; ++now_) {
    if (now_ == options_.fault_ticks + 1) begin_liveness();
    run_tick();
    if (!faults_ && converged()) {
      check_watches_settled();
      result_.passed = !failure_;
      break;
    }
  }
  return result();
}

RunResult StoreCluster::result() {
  result_.ticks = now_;
  result_.messages = network_.sent();
  if (failure_) {
    result_.passed = false;
    result_.failure = *failure_;
  } else if (!result_.passed) {
    result_.failure = "liveness: the store workload did not settle " +
                      std::to_string(options_.liveness_ticks) + " ticks after healing; the " +
                      "model applied slot " + std::to_string(model_applied_.value());
    for (const auto& [id, s] : servers_) {
      result_.failure += "\n  " + node_name(id);
      if (!s->replica) {
        result_.failure += " down";
        continue;
      }
      const consensus::Status st = s->replica->status().consensus;
      result_.failure += std::string(" ") + st.role + " leader " + std::to_string(st.leader.value()) +
                         " chosen " + std::to_string(st.chosen.value()) + " applied " +
                         std::to_string(s->replica->applied().value());
    }
    for (const auto& c : clients_) {
      result_.failure += "\n  client " + std::to_string(c->index) + " phase " +
                         std::to_string(static_cast<int>(c->core->phase())) + " outstanding " +
                         std::to_string(c->core->outstanding()) + " waiting " +
                         std::to_string(c->core->waiting()) + " on " + node_name(c->server);
    }
  }
  return result_;
}

// ---- scripted runs ----

void StoreCluster::advance(std::uint64_t ticks) {
  for (std::uint64_t i = 0; i < ticks && !failure_; ++i) {
    ++now_;
    run_tick();
  }
}

bool StoreCluster::advance_until(const std::function<bool()>& done, std::uint64_t ticks_max) {
  for (std::uint64_t i = 0; i < ticks_max && !failure_; ++i) {
    if (done()) return true;
    ++now_;
    run_tick();
  }
  return !failure_ && done();
}

void StoreCluster::crash_node(NodeId node) {
  Server& s = *servers_.at(node);
  SYNOD_ASSERT_MSG(s.replica != nullptr, "a scenario crashed a server that is down");
  crash(s);
  s.restart_tick = std::numeric_limits<std::uint64_t>::max();  // until restart_node
}

void StoreCluster::restart_node(NodeId node) {
  Server& s = *servers_.at(node);
  SYNOD_ASSERT_MSG(s.replica == nullptr, "a scenario restarted a server that is up");
  log_line(node_name(node) + " restarts");
  start(s);
}

void StoreCluster::fill_disk(NodeId node) {
  Server& s = *servers_.at(node);
  log_line(node_name(node) + "'s disk fills");
  s.disk.set_space_bytes(s.disk.used_bytes());
}

void StoreCluster::free_disk(NodeId node) {
  log_line(node_name(node) + "'s disk has space again");
  servers_.at(node)->disk.set_space_bytes(std::nullopt);
}

void StoreCluster::cut(NodeId from, NodeId to) {
  log_line("the link from " + node_name(from) + " to " + node_name(to) + " is cut");
  network_.cut(from, to);
}

void StoreCluster::isolate(NodeId node) {
  for (const auto& [id, s] : servers_) {
    if (id == node) continue;
    cut(node, id);
    cut(id, node);
  }
}

void StoreCluster::reconnect() {
  log_line("the network heals");
  network_.heal();
}

std::size_t StoreCluster::add_client(std::vector<NodeId> servers,
                                     std::int64_t session_timeout_ms) {
  SYNOD_ASSERT(!servers.empty());
  const auto index = static_cast<std::uint32_t>(clients_.size());
  auto client = std::make_unique<Client>(index, options_.seed * 977 + index);
  client->servers = std::move(servers);
  client->scripted = true;
  client->session_timeout_ms = session_timeout_ms;
  clients_.push_back(std::move(client));
  return index;
}

void StoreCluster::silence_client(std::size_t client) {
  Client& c = *clients_.at(client);
  detach(c);
  c.core.reset();
  c.silenced = true;
}

bool StoreCluster::session_open(std::size_t client) const {
  const Client& c = *clients_.at(client);
  return c.core && c.core->phase() == client::Phase::connected && c.connection.has_value();
}

client::RequestId StoreCluster::write(std::size_t client, protocol::Op op) {
  Client& c = *clients_.at(client);
  SYNOD_ASSERT_MSG(c.scripted && c.core, "a scenario wrote from a client it did not add");
  const client::RequestId id =
      submit(c, Op{Op::Kind::write, {}, {}, false},
             protocol::WriteRequest{std::nullopt, std::move(op)});
  c.unsent_writes.push_back(id);
  pump_client(c);
  return id;
}

std::optional<client::Completed> StoreCluster::answer(std::size_t client,
                                                      client::RequestId id) const {
  const Client& c = *clients_.at(client);
  const auto it = c.answers.find(id);
  if (it == c.answers.end()) return std::nullopt;
  return it->second;
}

std::optional<Slot> StoreCluster::chosen_slot(std::size_t client, client::RequestId id) const {
  const Client& c = *clients_.at(client);
  // The model knows a write by (session, its wire id).
  const auto it = c.wire_ids.find(id);
  if (it == c.wire_ids.end()) return std::nullopt;
  const auto chosen = model_writes_.find({c.core->session(), it->second});
  if (chosen == model_writes_.end()) return std::nullopt;
  return chosen->second.first;
}

std::optional<NodeId> StoreCluster::leader_id() {
  const Server* l = leader();
  return l ? std::optional<NodeId>(l->id) : std::nullopt;
}

const replica::Replica* StoreCluster::replica_of(NodeId node) const {
  return servers_.at(node)->replica.get();
}

RunResult StoreCluster::finish() {
  begin_liveness();
  const std::uint64_t end = now_ + options_.liveness_ticks;
  while (now_ < end && !failure_) {
    ++now_;
    run_tick();
    if (!failure_ && converged()) {
      check_watches_settled();
      result_.passed = !failure_;
      break;
    }
  }
  return result();
}

}  // namespace synod::sim
