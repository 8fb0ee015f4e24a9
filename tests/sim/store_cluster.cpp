#include "tests/sim/store_cluster.h"

#include <algorithm>
#include <cstdio>

#include "base/hash.h"
#include "server/codec/peer.h"

namespace synod::sim {

namespace {

constexpr std::int64_t tick_ms = 10;
constexpr std::int64_t wall_epoch_ms = 1'764'000'000'000;
constexpr std::uint32_t paths = 6;

std::string node_name(NodeId id) { return "node " + std::to_string(id.value()); }

bool applied_error(store::Error e) {
  return e != store::Error::TIMEOUT && e != store::Error::NOT_LEADER &&
         e != store::Error::LIMIT_EXCEEDED && e != store::Error::CONNECTION_LOSS;
}

store::Path path_of(const std::string& text) { return store::Path::parse(text).value(); }

}  // namespace

struct StoreCluster::Server {
  Server(NodeId node, base::Prng seeded) : id(node), prng(seeded) {}
  NodeId id;
  wal::MemoryDisk disk;
  base::Prng prng;
  std::unique_ptr<replica::Replica> replica;  // null while crashed
  std::uint64_t incarnation = 0;
  std::uint64_t restart_tick = 0;
  std::optional<std::uint64_t> sync_done_tick;
};

struct StoreCluster::Op {
  enum class Kind { open, move, keepalive, write, get, exists, children, watch, sync };
  Kind kind = Kind::write;
  std::string path;
  Zxid required{};  // every operation completed before this one began
  std::optional<std::pair<SessionId, std::uint64_t>> write_key;
  bool is_write_close = false;
  bool linearizable = false;  // held to real-time order
};

struct StoreCluster::Client {
  std::uint32_t index = 0;
  NodeId server{};
  std::optional<replica::ClientId> connection;
  SessionId session{};
  bool opening = false;
  Zxid seen{};          // highest zxid served to it
  Zxid response_max{};  // highest zxid in any served response on this connection
  Zxid moved_from{};    // the zxid it had seen when it moved here
  std::map<std::uint64_t, Op> outstanding;
  std::uint64_t next_request = 1;
  std::uint64_t reconnect_tick = 0;
  std::uint64_t keepalive_tick = 0;
  bool watcher = false;
  bool watch_registered = false;
  std::size_t event_cursor = 0;
};

StoreCluster::StoreCluster(const SimOptions& options, bool log_notes)
    : options_(options), log_notes_(log_notes), prng_(options.seed ^ 0x5707e), network_(options_) {
  for (std::uint32_t i = 1; i <= options_.replicas; ++i) {
    auto server = std::make_unique<Server>(NodeId{i}, base::Prng(options_.seed * 131 + i));
    Server& s = *server;
    servers_.emplace(NodeId{i}, std::move(server));
    start(s);
  }
  const auto count = static_cast<std::uint32_t>(prng_.range(2, 5));
  for (std::uint32_t i = 0; i < count; ++i) {
    auto client = std::make_unique<Client>();
    client->index = i;
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
  o.tick_ms = tick_ms;
  o.snapshot_every = options_.snapshot_every;
  o.session_timeout_min_ms = std::max<std::int64_t>(1000, 2 * tick_ms * o.core.election_ticks);
  o.session_timeout_max_ms = 4 * o.session_timeout_min_ms;
  o.request_timeout_ms = 4 * o.session_timeout_min_ms;
  o.store.canary_keep_ephemerals_on_expiry = options_.canary == "keep-ephemerals-on-expiry";
  o.store.canary_ignore_fence = options_.canary == "ignore-fence";
  o.canaries.drop_watch_event = options_.canary == "drop-watch-event";
  o.canaries.skip_wal_sync = options_.canary == "skip-wal-sync";
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
    if (client->connection && client->server == s.id) disconnect(*client, "its server crashed");
  }
  s.replica.reset();
  s.disk.crash(prng_);
  s.sync_done_tick.reset();
  s.restart_tick = now_ + prng_.range(1, options_.restart_ticks_max);
  ++s.incarnation;
  ++result_.crashes;
}

// Routes everything the replica produced: peers, clients, the sync request.
void StoreCluster::handle(Server& s) {
  if (!s.replica) return;
  replica::ReplicaOutput out = s.replica->take_output();
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
  if (out.sync_needed && !s.sync_done_tick) {
    s.sync_done_tick = now_ + prng_.range(options_.sync_ticks_min, options_.sync_ticks_max);
  }
  if (s.replica && s.replica->fatal()) fail(node_name(s.id) + ": " + *s.replica->fatal());
}

void StoreCluster::tick_servers() {
  for (auto& [id, s] : servers_) {
    if (!s->replica) continue;
    s->replica->on_tick(time_at(*s));
    handle(*s);
  }
}

void StoreCluster::deliver_packets() {
  while (auto envelope = network_.next_due(now_)) {
    auto it = servers_.find(envelope->to);
    if (it == servers_.end() || !it->second->replica) continue;
    it->second->replica->on_message(envelope->from, envelope->message);
    handle(*it->second);
  }
}

void StoreCluster::complete_syncs() {
  for (auto& [id, s] : servers_) {
    if (!s->replica || !s->sync_done_tick || *s->sync_done_tick > now_) continue;
    s->sync_done_tick.reset();
    (void)s->replica->sync();
    handle(*s);
  }
}

StoreCluster::Server* StoreCluster::leader() {
  Server* best = nullptr;
  for (auto& [id, s] : servers_) {
    if (!s->replica || !s->replica->core().is_leader()) continue;
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
  std::vector<NodeId> ids;
  for (const auto& [id, s] : servers_) ids.push_back(id);
  const Server* l = leader();
  if (auto changed = network_.schedule(now_, std::move(ids),
                                       l ? std::optional<NodeId>(l->id) : std::nullopt, prng_)) {
    log_line(*changed);
  }
}

// ---- clients ----

void StoreCluster::connect(Client& c) {
  std::vector<NodeId> up;
  for (const auto& [id, s] : servers_) {
    if (s->replica) up.push_back(id);
  }
  if (up.empty()) return;
  c.server = prng_.pick(std::span<NodeId>(up));
  c.connection = replica::ClientId{next_connection_++};
  by_connection_[*c.connection] = &c;
  c.watch_registered = false;
  c.moved_from = c.seen;
  c.response_max = Zxid{};
  if (c.session == SessionId{0}) {
    c.opening = true;
    submit(c, Op{Op::Kind::open, {}, {}, {}, false},
           codec::OpenSessionRequest{1000 + static_cast<std::int64_t>(prng_.below(2000)), {}, {}});
  } else {
    c.opening = true;
    submit(c, Op{Op::Kind::move, {}, {}, {}, false},
           codec::OpenSessionRequest{0, c.session, c.seen});
  }
}

void StoreCluster::disconnect(Client& c, const char* why) {
  if (!c.connection) return;
  log_line("client " + std::to_string(c.index) + " disconnects from " + node_name(c.server) +
           ": " + why);
  auto it = servers_.find(c.server);
  if (it != servers_.end() && it->second->replica) {
    it->second->replica->on_client_gone(*c.connection);
  }
  by_connection_.erase(*c.connection);
  c.connection.reset();
  c.outstanding.clear();  // writes: unknown outcome; reads: failed
  c.opening = false;
  c.watch_registered = false;
  c.reconnect_tick = now_ + prng_.range(1, 20);
}

void StoreCluster::submit(Client& c, Op op, codec::ClientBody body) {
  if (!c.connection) return;
  const std::uint64_t id = c.next_request++;
  op.required = completed_zxid_max_;
  if (op.kind == Op::Kind::write) op.write_key = std::pair{c.session, id};
  if (op.kind == Op::Kind::write || op.kind == Op::Kind::exists ||
      op.kind == Op::Kind::children || op.kind == Op::Kind::sync) {
    op.linearizable = true;
  }
  if (const auto* get = std::get_if<codec::GetRequest>(&body)) {
    op.linearizable = get->mode == codec::ReadMode::linearizable;
  }
  c.outstanding.emplace(id, std::move(op));
  Server& s = *servers_.at(c.server);
  s.replica->on_request(*c.connection, codec::ClientRequest{id, std::move(body)});
  handle(s);
}

void StoreCluster::issue(Client& c) {
  const std::string p = "/k" + std::to_string(prng_.below(paths));
  const std::string child = p + "/c";
  const std::uint64_t r = prng_.below(100);
  auto write = [&](store::Op op, std::optional<store::Fence> fence = std::nullopt) {
    submit(c, Op{Op::Kind::write, {}, {}, {}, false},
           store::Command{store::WriteCommand{c.session, std::move(fence), std::move(op)}});
  };
  auto version = [&]() -> std::optional<std::int32_t> {
    if (prng_.chance(1, 2)) return std::nullopt;
    return static_cast<std::int32_t>(prng_.below(4));
  };
  const std::string data = "v" + std::to_string(prng_.below(1000));
  if (r < 22) {
    store::CreateOp op;
    op.path = path_of(prng_.chance(1, 3) ? child : p);
    op.data = data;
    const std::uint64_t kind = prng_.below(10);
    if (kind < 3) op.kind = store::NodeKind::ephemeral;
    if (kind >= 8) {
      op.sequential = true;
      op.path = path_of(p + "/s-");
      op.parents = store::MissingParents::create_persistent;
    }
    write(std::move(op));
  } else if (r < 37) {
    write(store::SetOp{path_of(p), data, version()});
  } else if (r < 45) {
    write(store::DeleteOp{path_of(prng_.chance(1, 3) ? child : p), version()});
  } else if (r < 65) {
    const auto mode = prng_.chance(4, 5) ? codec::ReadMode::linearizable : codec::ReadMode::sequential;
    submit(c, Op{Op::Kind::get, p, {}, {}, false}, codec::GetRequest{path_of(p), false, mode});
  } else if (r < 75) {
    submit(c, Op{Op::Kind::exists, p, {}, {}, false},
           codec::ExistsRequest{path_of(p), false, codec::ReadMode::linearizable});
  } else if (r < 79) {
    submit(c, Op{Op::Kind::children, "/", {}, {}, false},
           codec::ChildrenRequest{store::Path::root(), false, codec::ReadMode::linearizable, "", 100});
  } else if (r < 85) {
    store::MultiCommand multi;
    multi.session = c.session;
    multi.ops.push_back(store::MultiOp{store::CheckOp{path_of(p), version()}, std::nullopt});
    multi.ops.push_back(store::MultiOp{
        store::SetOp{path_of("/k" + std::to_string(prng_.below(paths))), data, std::nullopt},
        std::nullopt});
    submit(c, Op{Op::Kind::write, {}, {}, {}, false}, store::Command{std::move(multi)});
  } else if (r < 93) {
    // A fenced write: the token is /k0's current czxid (by the model) or stale.
    Zxid token{prng_.below(model_applied_.value() + 1)};
    if (prng_.chance(1, 2)) {
      if (auto got = model_.get(path_of("/k0")); got.ok()) token = got.value().stat.czxid;
    }
    write(store::SetOp{path_of("/k1"), data, std::nullopt}, store::Fence{path_of("/k0"), token});
  } else if (r < 97) {
    submit(c, Op{Op::Kind::sync, {}, {}, {}, false}, codec::SyncRequest{});
  } else {
    Op close{Op::Kind::write, {}, {}, {}, true};
    submit(c, close, store::Command{store::CloseSessionCommand{c.session}});
  }
}

void StoreCluster::client_schedule() {
  const std::int64_t keepalive_ticks = 1000 / tick_ms / 3;
  for (auto& cp : clients_) {
    Client& c = *cp;
    if (!c.connection) {
      if (c.reconnect_tick <= now_) connect(c);
      continue;
    }
    if (faults_ && prng_.chance_permille(2)) {
      disconnect(c, "it moves to another server");
      continue;
    }
    if (c.opening || c.session == SessionId{0}) continue;
    if (c.watcher && !c.watch_registered &&
        std::none_of(c.outstanding.begin(), c.outstanding.end(),
                     [](const auto& kv) { return kv.second.kind == Op::Kind::watch; })) {
      submit(c, Op{Op::Kind::watch, "/", {}, {}, false},
             codec::SetWatchRequest{store::Path::root(), codec::WatchKind::persistent_recursive,
                                    std::nullopt});
      continue;
    }
    if (c.keepalive_tick <= now_) {
      c.keepalive_tick = now_ + static_cast<std::uint64_t>(keepalive_ticks);
      submit(c, Op{Op::Kind::keepalive, {}, {}, {}, false}, codec::KeepAliveRequest{});
      continue;
    }
    if (faults_ && c.outstanding.size() < 3 && prng_.chance_permille(options_.propose_permille)) {
      issue(c);
    }
  }
}

void StoreCluster::on_server_message(Client& c, const codec::ServerMessage& message) {
  if (const auto* response = std::get_if<codec::Response>(&message)) {
    on_response(c, *response);
    return;
  }
  if (const auto* event = std::get_if<codec::WatchEvent>(&message)) {
    if (event->event.zxid <= c.response_max) {
      return fail("watches: client " + std::to_string(c.index) + " got an event at zxid " +
                  std::to_string(event->event.zxid.value()) +
                  " after a response at a zxid at least as high");
    }
    c.seen = std::max(c.seen, event->event.zxid);
    if (!c.watch_registered) return;
    while (c.event_cursor < model_events_.size() &&
           model_events_[c.event_cursor].type == store::EventType::children_changed) {
      ++c.event_cursor;
    }
    if (c.event_cursor >= model_events_.size()) {
      return fail("watches: client " + std::to_string(c.index) +
                  " got an event the chosen log does not have");
    }
    const store::Event& expected = model_events_[c.event_cursor++];
    if (!(expected == event->event)) {
      return fail("watches: client " + std::to_string(c.index) + " expected the event at zxid " +
                  std::to_string(expected.zxid.value()) + " on " + expected.path +
                  " but got one at zxid " + std::to_string(event->event.zxid.value()) + " on " +
                  event->event.path + " (a gap or a reorder)");
    }
    return;
  }
  const auto& session_event = std::get<codec::SessionEvent>(message);
  if (session_event.state == codec::SessionState::moved) {
    c.watch_registered = false;  // set it again (client_schedule does)
    return;
  }
  if (session_event.state == codec::SessionState::expired && session_event.session == c.session) {
    c.session = SessionId{0};
    disconnect(c, "its session expired");
  }
}

void StoreCluster::on_response(Client& c, const codec::Response& response) {
  auto it = c.outstanding.find(response.request_id);
  if (it == c.outstanding.end()) return;
  const Op op = it->second;
  c.outstanding.erase(it);
  const store::Error error = response.status.error;
  const bool served = applied_error(error) && !(op.kind == Op::Kind::write &&
                                                error == store::Error::SESSION_EXPIRED &&
                                                !model_writes_.contains(*op.write_key));
  if (served) {
    if (response.zxid < c.response_max || response.zxid < c.moved_from) {
      return fail("sessions: client " + std::to_string(c.index) + " saw zxid " +
                  std::to_string(std::max(c.response_max, c.moved_from).value()) +
                  " and then a response at zxid " +
                  std::to_string(response.zxid.value()) + " from " + node_name(c.server) +
                  " (operation kind " + std::to_string(static_cast<int>(op.kind)) + ", " +
                  std::string(store::error_name(error)) + ")");
    }
    if (op.linearizable && response.zxid < op.required) {
      return fail("real time: client " + std::to_string(c.index) + " got zxid " +
                  std::to_string(response.zxid.value()) + " for an operation that began after " +
                  "zxid " + std::to_string(op.required.value()) + " had completed");
    }
    c.seen = std::max(c.seen, response.zxid);
    c.response_max = std::max(c.response_max, response.zxid);
    if (op.linearizable) completed_zxid_max_ = std::max(completed_zxid_max_, response.zxid);
  }
  switch (op.kind) {
    case Op::Kind::open:
    case Op::Kind::move:
      c.opening = false;
      if (error == store::Error::OK) {
        c.session = std::get<codec::SessionResult>(response.body).session;
      } else {
        c.session = SessionId{0};
        disconnect(c, "its session could not be opened or moved");
      }
      return;
    case Op::Kind::watch:
      if (error == store::Error::OK) {
        c.watch_registered = true;
        c.event_cursor = static_cast<std::size_t>(
            std::partition_point(model_events_.begin(), model_events_.end(),
                                 [&](const store::Event& e) { return e.zxid <= response.zxid; }) -
            model_events_.begin());
      }
      return;
    case Op::Kind::write:
      if (served) check_write(c, op, response);
      if (op.is_write_close && error == store::Error::OK) {
        c.session = SessionId{0};
        disconnect(c, "it closed its session");
      }
      return;
    case Op::Kind::get:
    case Op::Kind::exists:
      if (served) check_read(c, op, response);
      return;
    default:
      return;
  }
}

void StoreCluster::check_write(Client& c, const Op& op, const codec::Response& response) {
  auto it = model_writes_.find(*op.write_key);
  if (it == model_writes_.end()) {
    return fail("model: client " + std::to_string(c.index) + "'s write answered at zxid " +
                std::to_string(response.zxid.value()) + " is not in the chosen log");
  }
  const auto& [slot, expected] = it->second;
  if (Zxid{slot.value()} != response.zxid) {
    return fail("model: a write answered at zxid " + std::to_string(response.zxid.value()) +
                " was chosen at slot " + std::to_string(slot.value()));
  }
  if (expected.status.error != response.status.error) {
    return fail("model: a write at zxid " + std::to_string(response.zxid.value()) + " answered " +
                std::string(store::error_name(response.status.error)) + " but the model says " +
                std::string(store::error_name(expected.status.error)));
  }
  acked_writes_.insert(*op.write_key);
  if (const auto* created = std::get_if<codec::CreateResult>(&response.body)) {
    if (expected.ops.empty() || created->path != expected.ops.front().path ||
        !expected.ops.front().stat || !(created->stat == *expected.ops.front().stat)) {
      return fail("model: a create at zxid " + std::to_string(response.zxid.value()) +
                  " answered a different path or stat than the model");
    }
  }
  if (const auto* multi = std::get_if<codec::MultiResult>(&response.body)) {
    if (!(multi->results == expected.ops)) {
      return fail("model: a multi at zxid " + std::to_string(response.zxid.value()) +
                  " answered different per-op results than the model");
    }
  }
}

void StoreCluster::check_read(Client& c, const Op& op, const codec::Response& response) {
  std::optional<std::pair<std::string, store::Stat>> expected;
  if (auto it = history_.find(op.path); it != history_.end()) {
    for (const Version& v : it->second) {
      if (v.zxid > response.zxid) break;
      expected = v.node;
    }
  }
  const bool exists = response.status.error == store::Error::OK;
  const std::string where = "model: client " + std::to_string(c.index) + " read " + op.path +
                            " at zxid " + std::to_string(response.zxid.value()) + " from " +
                            node_name(c.server);
  if (exists != expected.has_value()) {
    return fail(where + (exists ? " and found it, but it did not exist then"
                                : " and did not find it, but it existed then"));
  }
  if (!exists) return;
  if (const auto* data = std::get_if<codec::DataResult>(&response.body)) {
    if (data->data != expected->first || !(data->stat == expected->second)) {
      return fail(where + ": its data or stat differ from the model's at that zxid");
    }
  } else if (const auto* stat = std::get_if<codec::StatResult>(&response.body)) {
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
                                                   command.command);
    if (command.sequence != 0) {
      const std::pair key{command.session, command.sequence};
      auto [it, first] = model_writes_.try_emplace(key, slot, result.response);
      if (!first && acked_writes_.contains(key)) {
        fail("exactly once: an acknowledged write appears again at slot " +
             std::to_string(slot.value()));
      }
    }
    for (const store::Event& e : result.events) {
      model_events_.push_back(e);
      Version v{e.zxid, std::nullopt};
      if (auto got = model_.get(path_of(e.path)); got.ok()) {
        v.node = std::pair{std::string(got.value().data), got.value().stat};
      }
      history_[e.path].push_back(std::move(v));
    }
  }
  model_digests_.push_back(model_.digest());
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
    if (!c->outstanding.empty()) return false;
  }
  for (const auto& [id, s] : servers_) {
    if (!s->replica || s->replica->applied() != model_applied_) return false;
  }
  return true;
}

RunResult StoreCluster::run() {
  const std::uint64_t end = options_.fault_ticks + options_.liveness_ticks;
  for (now_ = 1; now_ <= end && !failure_; ++now_) {
    if (now_ == options_.fault_ticks + 1) {
      faults_ = false;
      network_.heal();
      log_line("liveness phase: the network heals and every crashed server restarts");
    }
    tick_servers();
    deliver_packets();
    complete_syncs();
    fault_schedule();
    client_schedule();
    if (!faults_ && converged()) {
      result_.passed = true;
      break;
    }
  }
  result_.ticks = now_;
  result_.messages = network_.sent();
  if (failure_) {
    result_.passed = false;
    result_.failure = *failure_;
  } else if (!result_.passed) {
    result_.failure = "liveness: the store workload did not settle " +
                      std::to_string(options_.liveness_ticks) + " ticks after healing";
  }
  return result_;
}

}  // namespace synod::sim
