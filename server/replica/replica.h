// Replica: one server's deterministic heart. It wires the consensus core, the
// store, durable storage, the watch registry, read-index rounds and session
// liveness, and is driven only through its inputs:
//
//   on_message(from, message)   a peer's consensus message
//   on_request(client, request) a decoded client request on a connection
//   on_client_gone(client)      a connection closed
//   on_client_drained(client)   a connection asked to (notify_drained) sent
//                               everything queued for it
//   on_tick(now)                one tick of time (monotonic and wall ms)
//   sync()                      the owner makes written records durable, or
//   begin_sync(), finish_sync() the same in two halves around an fsync thread
//
// and drains everything it must do into take_output(): messages for peers
// (already ordered after the writes they depend on) and frames for clients
// (in each client's order). It drains the core's Output exactly as
// consensus/output.h says: persist, send, then apply. synodd's runtime and
// the simulator drive the same class.
//
// Client guarantees (DESIGN.md "Reads", "Store"):
//   - a connection's requests are answered in the order they were sent;
//   - a linearizable read is served after a read-index round (README §11 in
//     consensus/) and after every earlier request on the connection;
//   - nothing is answered on a moved session before this replica has applied
//     the zxid the client had seen;
//   - watch events reach a client before any response with a higher zxid.
//
// ## The rooms it conducts
// Replica itself opens, drains the core, applies chosen entries, takes
// snapshots, batches writes to propose or forward, and evaluates reads
// (replica.cpp, clients.cpp, reads.cpp, sessions.cpp). What it keeps between
// inputs lives in deterministic values with their own contracts and tests:
//   ClientQueue      client_queue.h      one connection's requests, in order
//   ReadRounds       read_rounds.h       the read-index round in flight, the next
//   SessionLiveness  session_liveness.h  deadlines, touches, expiry/TTL pacing
//   SyncGate         sync_gate.h         votes held until their writes are durable
//   WatchRegistry    watches.h           watches and the event history
//   Storage          storage.h           the WAL, snapshots and meta on disk
//
// ## Disk failure (issue 14, point 1)
// A write or sync the disk refuses (ENOSPC, EIO) does not stop the server.
// The replica goes read-only, with an alarm: it logs a sentence, drops its
// consensus core and its Storage (so no promise, vote or leadership while it
// cannot persist; the votes held behind the failed write are dropped, never
// sent, and a leader steps down by falling silent), refuses writes at once
// with NOT_LEADER naming the cause ("node 2 cannot write its disk (...); it
// is read-only until it can"), and answers what needs no core from its
// applied state: sequential reads, watches. Writes it had proposed are
// never acknowledged here (their clients time out: another replica may
// still choose them). status() carries the alarm (disk_failure, and
// disk_errors counted). Every disk_retry_ticks ticks, once no sync or
// snapshot job is out, it tries again exactly as a restart would: it cuts
// the WAL back to its last durable point (Storage::roll_back), recovers,
// proves the disk takes a write and a sync, and rebuilds the core from what
// is durable, under a snapshot of its own applied store (the core never
// re-delivers what was applied); then it logs that the alarm cleared and
// rejoins. Damage found by that recovery is fatal, as at a restart.
//
// ## Held batches (issue 14, point 9): no fsync on the event loop
// A lagging follower's snapshot from the leader is written off the event
// loop too: the persist batch that carries it becomes a SnapshotJob (the
// file's write and fsyncs), and the store is replaced at once. Until the
// file is durable nothing after it reaches the WAL (storage.h W3): that
// batch's records and every later batch wait in order, with their votes, and
// are written, in order, when finish_snapshot() takes the job back (the
// next snapshot in the queue starts the next job). A snapshot job of the
// replica's own that is out meanwhile finishes first. Likewise a batch that
// would overflow the WAL's unsynced budget while a sync is out (an acceptor
// handed more than its disk keeps up with) waits, with every later one,
// for the sync that makes room (Storage::must_wait_for_sync), instead of
// fsyncing here. The held batches are bounded by what the core sends a
// follower before it hears back.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/assert.h"
#include "base/prng.h"
#include "consensus/core.h"
#include "protocol/codec.h"
#include "server/codec/peer.h"
#include "server/replica/client_id.h"
#include "server/replica/client_queue.h"
#include "server/replica/read_rounds.h"
#include "server/replica/session_liveness.h"
#include "server/replica/storage.h"
#include "server/replica/sync_gate.h"
#include "server/replica/watches.h"
#include "server/store/store.h"
#include "server/wal/disk.h"

namespace synod::replica {

// Deliberate bugs the simulator turns on to prove its client checkers fail.
struct ReplicaCanaries {
  bool drop_watch_event = false;   // every tenth notification is lost
  bool phantom_watch_event = false;  // every seventh notification says another change
  bool skip_wal_sync = false;      // sync() does not make records durable
  bool children_skip_last = false;   // a children page of two or more omits its last child
  bool rewatch_never_fires = false;  // a one-shot watch set from a zxid only registers
  bool replay_page_gap = false;      // a replay's later pages lose their first event
};

// ReplicaOptions::watch_replay_page_events: a page, one multi's events beside
// it and every pending answer with as many held messages fit a connection's
// frame queue (a static_assert in server/runtime/client_connection.h).
inline constexpr std::uint32_t watch_replay_page_events_default = pending_per_client_max_default;

struct ReplicaOptions {
  consensus::Options core;
  store::StoreConfig store;
  wal::WalOptions wal;
  std::int64_t tick_ms = 10;  // the length of one tick, for timeouts in ms
  std::uint64_t snapshot_every = 10000;  // applied entries between snapshots
  std::int64_t session_timeout_ms_min = 1000;
  std::int64_t session_timeout_ms_max = 60000;
  // A request not answered in this long gets TIMEOUT (outcome unknown).
  std::int64_t request_timeout_ms = 10000;
  std::uint32_t pending_per_client_max = pending_per_client_max_default;
  // In [1, store::ttl_removals_max].
  std::uint32_t ttl_removals_per_entry_max = ttl_removals_per_entry_max_default;
  // In [1, store::expire_sessions_max].
  std::uint32_t expire_sessions_per_entry_max = expire_sessions_per_entry_max_default;
  WatchLimits watches;
  // After a disk error: ticks between attempts to recover (>= 1).
  std::uint64_t disk_retry_ticks = 100;
  // A watch-from-zxid replay sends at most this many events at a time (or
  // one entry's alone), the next page once its connection drained
  // (on_client_drained), so a replay larger than the connection's send queue
  // never overflows it. Meanwhile the connection's answers wait behind the
  // replay, and its other messages too, up to pending_per_client_max; past
  // that the replay stops and is refused LIMIT_EXCEEDED. >= 1.
  std::uint32_t watch_replay_page_events = watch_replay_page_events_default;
  ReplicaCanaries canaries;

  // ok when usable; otherwise invalid, naming the first bad field.
  [[nodiscard]] base::CheckStatus validate() const;
};

struct Time {
  std::int64_t monotonic_ms = 0;  // never goes back; the timeouts' clock
  std::int64_t wall_ms = 0;       // ms since the epoch; stamped into entries
};

struct ToClient {
  ClientId client;
  protocol::ServerMessage message;
};

// A snapshot being saved off the event loop (storage.h rule W4). The
// replica serialised its store and re-appended the log after it on its own
// thread; run() makes those records durable and writes the snapshot file,
// on any one thread, while the replica goes on; Replica::finish_snapshot()
// takes it back. Dropping it unrun (a crash, a stop) loses nothing durable.
//
// Or a leader's snapshot being installed ("Held batches" above):
// run() writes and syncs its file.
class SnapshotJob {
 public:
  [[nodiscard]] wal::Status run() {
    if (install_) return install_ran_ = install_->run();
    return write_.run();
  }
  [[nodiscard]] Slot slot() const { return install_ ? install_slot_ : write_.slot; }

 private:
  friend class Replica;
  SnapshotJob(Storage::SnapshotWrite write, std::shared_ptr<const std::string> data)
      : write_(std::move(write)), data_(std::move(data)) {}
  SnapshotJob(Slot slot, std::unique_ptr<wal::SyncJob> install)
      : install_slot_(slot), install_(std::move(install)) {}
  Storage::SnapshotWrite write_;
  std::shared_ptr<const std::string> data_;  // the store's bytes, for the core's compaction
  Slot install_slot_;
  std::unique_ptr<wal::SyncJob> install_;  // set: a leader's snapshot, not our own
  wal::Status install_ran_;
};

// The slot of a replica's next snapshot after one at `last`: at least half an
// interval later, at the next slot that is `offset` mod snapshot_every, the
// offset spreading node ids over the interval (a golden-ratio sequence). So
// replicas with the same options snapshot at different slots and never all
// stall at once (issue 14, point 9). snapshot_every >= 1.
[[nodiscard]] Slot next_snapshot_slot(Slot last, NodeId self, std::uint64_t snapshot_every);

// What the consensus core asserts of what it recovers, checked first (the
// bytes came from the disk): nullopt, or the damage in a sentence.
[[nodiscard]] std::optional<std::string> check_recovered(const consensus::Durable& durable);

struct ReplicaOutput {
  std::vector<consensus::Envelope> send;  // to peers, now
  std::vector<ToClient> to_clients;       // in each client's order
  std::vector<std::string> notes;         // sentences for the log
  // Connections with a watch replay paged: call on_client_drained() once
  // each has sent everything queued for it so far (after to_clients).
  std::vector<ClientId> notify_drained;
  // Something waits for durability: call sync(), or begin_sync() when no
  // sync is running (group commit). Records that wait for nothing (chosen
  // marks, which are hints) do not ask for a sync; the next one covers them.
  bool sync_needed = false;
  // A snapshot to write: run it on a thread of the owner's (not the event
  // loop), then hand it to finish_snapshot(). At most one is out at a time.
  std::unique_ptr<SnapshotJob> snapshot_job;
};

// Sees every entry this replica applies, after the store applied it, and
// every snapshot it installs. For the simulator's checkers; none in synodd.
class ApplyObserver {
 public:
  virtual ~ApplyObserver() = default;
  virtual void applied(NodeId replica, Slot slot, const consensus::Entry& entry,
                       const store::Store& store) = 0;
  virtual void installed(NodeId replica, Slot slot, const store::Store& store) = 0;
};

struct ReplicaStatus {
  consensus::Status consensus;
  Slot applied{};
  std::size_t sessions = 0;
  std::size_t watches = 0;
  std::uint64_t watches_refused = 0;  // refused over WatchLimits::watches_max
  std::size_t clients = 0;
  std::size_t nodes = 0;
  std::uint64_t digest = 0;
  // While the disk cannot write: the sentence why (the replica is read-only).
  std::optional<std::string> disk_failure;
  std::uint64_t disk_errors = 0;  // writes and syncs refused, and failed retries, since open
  std::int64_t tick_ms = 0;       // consensus.progress counts ticks of this length
};

class Replica {
 public:
  // Recovers from `disk`. `initial` is the configuration at slot 0 for a new
  // ensemble (empty for a server joining as a learner). A disk that cannot be
  // recovered is an error naming file and offset. `prng` outlives the replica.
  [[nodiscard]] static protocol::Result<std::unique_ptr<Replica>> open(
      const ReplicaOptions& options, wal::Disk& disk, base::Prng& prng,
      const consensus::Configuration& initial, Time now);

  void on_message(NodeId from, const consensus::Message& message);
  void on_request(ClientId client, protocol::ClientRequest request);
  void on_client_gone(ClientId client);
  // The connection sent everything queued for it (asked by notify_drained):
  // the next page of its watch replay goes. Any other time: nothing.
  void on_client_drained(ClientId client);
  void on_tick(Time now);
  // Makes everything written durable, then releases the votes that waited.
  // A disk error makes the replica read-only ("Disk failure" above); only a
  // fatal error is returned (fatal()): stop the server.
  [[nodiscard]] std::optional<std::string> sync();

  // sync() in two halves, so the fsync can run on another thread while the
  // replica goes on. begin_sync() covers everything written so far; run
  // `ticket.pending.job` (if any) on any one thread, then hand its result
  // to finish_sync() here. Inputs may arrive in between; what they write
  // waits for the next sync. One ticket at a time. nullopt: nothing to sync
  // while the disk has failed, or a disk error (disk_failure() or fatal()
  // says why). A ticket finished after a disk error only tells the replica
  // how far the disk got.
  struct SyncTicket {
    std::uint64_t token = 0;  // the persist token it makes durable
    wal::Wal::PendingSync pending;
  };
  [[nodiscard]] std::optional<SyncTicket> begin_sync();
  [[nodiscard]] std::optional<std::string> finish_sync(const SyncTicket& ticket,
                                                       const wal::Status& ran);
  // Whether anything written waits for durability (ReplicaOutput::sync_needed).
  [[nodiscard]] bool wants_sync() const;
  // A snapshot job from take_output() has run (its result is inside it). A
  // failed log sync is fatal; a failed file write is logged and retried
  // after a quarter interval. Then the log is compacted.
  void finish_snapshot(std::unique_ptr<SnapshotJob> job);
  // Whether a snapshot job is out (taken, not yet finished).
  [[nodiscard]] bool snapshot_running() const { return snapshot_running_; }

  // Everything to do since the last call. First proposes (or forwards) the
  // writes gathered since then as one batch, so a driver that calls it once
  // per turn of its event loop batches every request of that turn.
  [[nodiscard]] ReplicaOutput take_output();
  // `observer` must outlive the replica, or be reset to nullptr first.
  void set_observer(ApplyObserver* observer) { observer_ = observer; }
  [[nodiscard]] ReplicaStatus status() const;
  // Asserts the disk has not failed (there is no core meanwhile).
  [[nodiscard]] const consensus::Core& core() const {
    SYNOD_ASSERT_MSG(core_ != nullptr, "no consensus core while the disk has failed");
    return *core_;
  }
  // A disk that fails again soon after it recovered (a few bytes free: the
  // recovery's probe fits, the next write does not) waits twice as long
  // each time, up to disk_retry_backoff_max times disk_retry_ticks; a disk
  // that holds for disk_flap_window_retries retry intervals starts over.
  static constexpr std::uint64_t disk_retry_backoff_max = 32;
  static constexpr std::uint64_t disk_flap_window_retries = 10;
  // While the disk cannot write: why ("Disk failure" above); else nullopt.
  [[nodiscard]] std::optional<std::string> disk_failure() const {
    return failure_ ? std::optional<std::string>(failure_->why) : std::nullopt;
  }
  [[nodiscard]] const store::Store& store() const { return store_; }
  [[nodiscard]] Slot applied() const { return applied_; }
  // The live session bound to connection `client` here, or 0 (none: it
  // opened none yet, or its session expired, closed or moved away, or a move
  // here names a session this replica has not applied yet).
  [[nodiscard]] SessionId client_session(ClientId client) const;
  // A fatal disk error seen while writing; the owner must stop.
  [[nodiscard]] const std::optional<std::string>& fatal() const { return fatal_; }

  // Asserts the invariants of every room above (and that the session mirror
  // matches the store). Between inputs only. O(state); for tests and the
  // simulator.
  void check_invariants() const;

 private:
  Replica(const ReplicaOptions& options, base::Prng& prng, wal::Disk& disk,
          consensus::Configuration initial, Storage storage, consensus::Durable durable, Time now);

  // replica.cpp: driving the core, applying, snapshots.
  void drain();
  [[nodiscard]] bool write_batch(std::uint64_t token, const consensus::PersistBatch& persist,
                                 bool needs_sync);
  void write_held_batches();
  void finish_install(SnapshotJob& job);
  void apply(const consensus::ChosenEntry& chosen);
  void apply_command(Slot slot, const codec::LogCommand& command);
  void maybe_snapshot();
  void drop_watches_after_snapshot();
  void after_apply_sessions(const codec::LogCommand& command, const store::ApplyResult& result);
  void complete_write(ClientId id, ClientQueue& client, std::uint64_t request_id,
                      protocol::Response response, bool restamp = false);
  void propose_stamped(std::vector<codec::LogCommand> commands);
  void propose_now(std::vector<codec::LogCommand> commands);
  void flush_writes();
  void forward_batch();
  [[nodiscard]] bool propose_batch();
  [[nodiscard]] std::optional<std::string> encode_checked(const codec::LogCommand& command);
  void handle_forwarded(std::vector<consensus::Entry> entries);
  void install(const consensus::Snapshot& snapshot);
  void fail(std::string why);

  // disk.cpp: read-only after a disk error, and the way back.
  void disk_failed(const std::string& what);
  void confirmed_durable(const std::optional<wal::DurablePoint>& point, const wal::Status& ran);
  void answer_writes_in_flight();
  void maybe_recover_disk();
  [[nodiscard]] std::optional<std::string> rejoin();
  [[nodiscard]] consensus::Durable rebuilt(consensus::Durable durable) const;
  [[nodiscard]] protocol::Status read_only_status() const;
  void refuse_to_forward(const protocol::Status& status);
  [[nodiscard]] bool leading() const { return core_ != nullptr && core_->is_leader(); }
  [[nodiscard]] std::int64_t stamp();

  // clients.cpp: requests and their order, read-index rounds, timeouts.
  void submit_write(ClientId id, ClientQueue& client, std::uint64_t request_id,
                    codec::LogCommand command);
  void submit_read(ClientId id, ClientQueue& client, std::uint64_t request_id,
                   protocol::ClientBody body, bool linearizable);
  void open_session(ClientId id, ClientQueue& client, std::uint64_t request_id,
                    const protocol::OpenSessionRequest& request);
  void answer_now(ClientId id, ClientQueue& client, std::uint64_t request_id,
                  protocol::Status status, protocol::ResultBody body = {});
  void pump(ClientId id, ClientQueue& client);
  void maybe_propose(ClientId id, ClientQueue& client);
  void propose_write(ClientId id, std::uint64_t request_id, codec::LogCommand command);
  void pump_all();
  void emit(ClientId id, protocol::ServerMessage message);
  // Starts the next read-index round when one should start: at once for a
  // request that needs it now, at a tick (`tick`) for any gathering
  // (ReadRounds::wants_start, can_start).
  void start_read_round(bool tick = false);
  void on_read_ready(const consensus::ReadReady& ready);
  void expire_requests();
  void note_request_deadline(ClientId id);
  // The connection `id` acted as `before` and now acts as client.session():
  // the session -> connections index follows.
  void rebind(ClientId id, SessionId before, const ClientQueue& client);
  [[nodiscard]] protocol::Response write_response(std::uint64_t request_id, Zxid zxid,
                                                  const store::ApplyResult& result,
                                                  const store::Command& command) const;

  // reads.cpp: a read at the head of its queue, one leaf per request kind.
  // The head's answer; replayed watch events are emitted before it.
  [[nodiscard]] protocol::Response evaluate_read(ClientId id, ClientQueue& client);
  [[nodiscard]] bool vouch(SessionId session, protocol::Response& r);
  // Tells every other local connection bound to `session` that it moved to
  // `to` (SessionEvent moved), and unbinds them.
  void session_moved_here(ClientId to, SessionId session);
  void session_moved_away(const store::MoveSessionCommand& move);
  // Tells SESSION_MOVED to every connection here bound to `session` before
  // `bound_before` (ClientQueue::bound_at), except `keep`, and unbinds it.
  void unbind_moved(SessionId session, Zxid bound_before, std::optional<ClientId> keep,
                    const std::string& why);
  // vouch() if `secret` is the session's, else SESSION_EXPIRED saying so.
  [[nodiscard]] bool vouch_move(SessionId session, const SessionSecret& secret,
                                protocol::Response& r);
  // SESSION_EXPIRED "session N: the secret does not match" (ZooKeeper's
  // answer to a bad password).
  static protocol::Status secret_mismatch(SessionId session);
  void set_watch(ClientId id, const protocol::SetWatchRequest& q, protocol::Response& r);
  void set_one_shot_watch(ClientId id, const protocol::SetWatchRequest& q, protocol::Response& r);
  // watches.cpp (replica side): a watch-from-zxid replay sent page by page.
  void send_replay_page(ClientId id);
  void end_replay(ClientId id, protocol::Status status);

  // sessions.cpp: liveness at the leader, touches from followers, TTLs.
  void note_session_active(SessionId session);
  void note_tick_gap(std::int64_t previous_ms);
  [[nodiscard]] std::int64_t liveness_now() const;
  void session_tick();
  void on_became_leader();
  void on_session_gone(SessionId session, protocol::SessionState state);

  ReplicaOptions options_;
  base::Prng& prng_;
  wal::Disk* disk_;
  consensus::Configuration initial_;  // at slot 0, for recovering again
  // Both present, or both dropped while the disk has failed (failure_).
  std::optional<Storage> storage_;
  std::unique_ptr<consensus::Core> core_;
  store::Store store_;
  WatchRegistry watches_;
  Slot applied_{};
  Slot snapshot_slot_{};
  bool snapshot_running_ = false;
  Slot snapshot_retry_at_{};  // after a failed snapshot write: not before this
  std::int64_t last_log_time_ms_ = 0;
  Time now_;
  bool was_leader_ = false;

  SyncGate sync_gate_;  // votes held until their writes are durable
  // Each batch written and not yet durable, with the WAL index after it.
  std::deque<std::pair<std::uint64_t, wal::RecordIndex>> written_ends_;
  // Persist batches held back ("Held batches"), in token order: while any
  // snapshot job is out (behind a leader's snapshot being installed, the
  // first is the one whose file is being written, its snapshot already
  // taken out), or until a sync makes WAL room for the first.
  struct HeldBatch {
    std::uint64_t token = 0;
    consensus::PersistBatch persist;
    bool needs_sync = false;
    SyncGate::Votes votes;
  };
  std::deque<HeldBatch> held_batches_;

  std::map<ClientId, ClientQueue> clients_;
  // (session, connection) for every connection acting as a session: a
  // session's end finds its connections without walking every client.
  std::set<std::pair<SessionId, ClientId>> session_clients_;
  // (deadline, connection) per arrival, in arrival order, so also in
  // deadline order (every request gets request_timeout_ms): a tick looks
  // only at connections with a request due, not at every connection. An
  // entry whose request was answered in time is dropped when it falls due.
  std::deque<std::pair<std::int64_t, ClientId>> request_deadlines_;
  // Clients whose next answer waits for applied_ to reach a slot (a moved
  // session, or a read at its read index): pump_all() looks only at them.
  std::set<ClientId> waiting_apply_;
  // A write in flight (its session and sequence) -> who waits for it.
  struct WriteInFlight {
    ClientId client;
    std::uint64_t request_id = 0;
    std::uint64_t installs = 0;  // snapshots_installed_ when it was handed on
  };
  std::map<WriteKey, WriteInFlight> writes_in_flight_;
  std::uint64_t snapshots_installed_ = 0;  // from the leader, since open

  ReadRounds read_rounds_;    // one in flight; reads arriving meanwhile wait for the next
  SessionLiveness liveness_;  // leader: deadlines; follower: sessions to touch
  std::int64_t stalled_ms_ = 0;      // this replica's own stalls, off the liveness clock
  std::uint64_t notifications_ = 0;  // watch events sent (the drop_watch_event canary)

  // Writes gathered since the last take_output(), which proposes (leader) or
  // forwards (follower) them as one batch: every request that arrived
  // together becomes one Accept, or one Forward, per peer.
  struct ToForward {
    ClientId client;
    std::uint64_t request_id = 0;
    codec::LogCommand command;
  };
  std::vector<codec::LogCommand> to_propose_;
  // The last flush proposed nothing because the WAL's unsynced room was
  // short: a sync must run (wants_sync) before the writes can go.
  bool blocked_on_room_ = false;
  std::vector<ToForward> to_forward_;
  // Session opens proposed recently, by nonce: a Forward the network
  // duplicated is proposed once. Bounded; oldest forgotten first.
  std::set<std::uint64_t> recently_opened_;
  std::deque<std::uint64_t> recently_opened_order_;

  // While the disk cannot write ("Disk failure" above).
  struct DiskFailure {
    std::string why;                  // the disk's sentence
    wal::DurablePoint durable;        // roll the WAL back to this first
    consensus::Status consensus;      // the dropped core's, for status()
    consensus::Configuration config;  // at next(applied_), for the rebuilt core
    std::uint64_t retry_in_ticks = 0;
  };
  std::optional<DiskFailure> failure_;
  std::uint64_t disk_errors_ = 0;
  std::uint64_t disk_retry_backoff_ = 1;
  std::optional<std::int64_t> disk_recovered_ms_;
  bool sync_out_ = false;  // a SyncTicket was handed out and not finished
  // Watch-from-zxid replays larger than a page, one per connection at most:
  // its SetWatch answer, and everything else emitted to the connection
  // (`held`), wait until the last page left; no answer on the connection
  // leaves before it.
  struct PagedReplay {
    protocol::Path path;
    protocol::WatchKind kind{};
    Zxid after{};    // events up to here were sent
    Zxid through{};  // the applied zxid when the watch was set
    protocol::Response answer;
    std::deque<protocol::ServerMessage> held;
  };
  std::map<ClientId, PagedReplay> replays_;

  ReplicaOutput output_;
  std::optional<std::string> fatal_;
  ApplyObserver* observer_ = nullptr;
};

}  // namespace synod::replica
