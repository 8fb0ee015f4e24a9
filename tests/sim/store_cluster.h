// StoreCluster: the store workload. N servers built from the real
// server/replica Replica (consensus core + store + WAL over MemoryDisk +
// watches + read-index + session liveness), clients built on the real
// client/core SessionCore (every frame crossing the codec both ways) issuing
// a mixed workload, the same network faults as Cluster, crashes that recover
// through the real WAL, and a reference model: a second Store fed the chosen
// log in order, without canaries.
//
// Checks, after every event:
//   agreement     the same entry at every slot on every replica
//   model         every replica's store digest at slot s equals the model's;
//                 every write's response equals the model's result for it;
//                 every read's answer equals the model's state at its zxid
//   exactly once  an acknowledged write appears once in the chosen log
//   real time     an operation that began after another finished has a zxid
//                 at least as high
//   sessions      a client never sees a lower zxid than it has seen, even
//                 after moving to another server
//   watches       a client with a recursive watch on / receives exactly the
//                 model's events, in order, and none after a higher response;
//                 every event any client receives is a change the model made
//                 at that zxid (no phantom, say from a rolled-back multi; a
//                 one-shot watch set again after a move may report a delete
//                 at the zxid it was set again, if the model deleted the node
//                 after the watch was set). The other clients set one-shot
//                 data / exists / children watches and persistent watches from
//                 past zxids (some older than a server's short history): every
//                 event they get is fired by a watch they hold, a one-shot
//                 fires at most once, and every one-shot whose node the model
//                 changed has fired once the run settles; a replay delivers
//                 exactly the model's events on its path after its zxid, all
//                 before its answer, and then every later one, or ends in
//                 COMPACTED (an answer, or a compacted event after a move)
//   children      every children answer equals the model's children (names
//                 and stats) at the answer's zxid
//   safe_until    no client is ever told its session is safe until a moment
//                 after the one its expiry was applied (its ephemerals
//                 deleted, its locks free for others)
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "base/prng.h"
#include "client/core/session_core.h"
#include "protocol/codec.h"
#include "server/replica/replica.h"
#include "server/store/store.h"
#include "server/wal/memory_disk.h"
#include "tests/sim/cluster.h"
#include "tests/sim/network.h"
#include "tests/sim/options.h"

namespace synod::sim {

class StoreCluster : public replica::ApplyObserver {
 public:
  StoreCluster(const SimOptions& options, bool log_notes);
  ~StoreCluster() override;
  StoreCluster(const StoreCluster&) = delete;
  StoreCluster& operator=(const StoreCluster&) = delete;

  [[nodiscard]] RunResult run();

  // ---- Scripted runs (tests/sim/scenarios/) ----
  // As in Cluster: a scenario zeroes the drawn rates in its options
  // (propose_permille 0 keeps the drawn clients idle, client_move_permille 0
  // keeps every client where it is) and makes the events itself. A server
  // crashed here stays down, and a link cut here stays cut, until the
  // scenario says otherwise. Every check above still runs after every event.
  void advance(std::uint64_t ticks);
  // Runs ticks until done() holds (true), or false once ticks_max ticks
  // passed or a check failed first.
  [[nodiscard]] bool advance_until(const std::function<bool()>& done, std::uint64_t ticks_max);
  void crash_node(NodeId node);
  void restart_node(NodeId node);
  // The server's disk fills: it holds what it holds now and takes no more
  // (MemoryDisk::set_space_bytes), until free_disk() gives the space back.
  void fill_disk(NodeId node);
  void free_disk(NodeId node);
  void cut(NodeId from, NodeId to);  // messages from -> to are lost until reconnect()
  void isolate(NodeId node);         // cut both ways from every other server
  void reconnect();
  // A new client whose session connects only to `servers`, in that order;
  // returns its index. Its session opens by itself; see session_open().
  [[nodiscard]] std::size_t add_client(std::vector<NodeId> servers,
                                       std::int64_t session_timeout_ms);
  [[nodiscard]] bool session_open(std::size_t client) const;  // connected, with a session
  // The client vanishes: its connection closes and it never sends again, so
  // its session expires (a crashed client process).
  void silence_client(std::size_t client);
  // One write from `client` (WriteCommand of its session); its answer, once
  // it arrives, is answer(client, id).
  [[nodiscard]] client::RequestId write(std::size_t client, protocol::Op op);
  [[nodiscard]] std::optional<client::Completed> answer(std::size_t client,
                                                        client::RequestId id) const;
  // The slot the chosen log holds `client`'s write `id` at (its first copy),
  // once the model applied it.
  [[nodiscard]] std::optional<Slot> chosen_slot(std::size_t client, client::RequestId id) const;
  [[nodiscard]] std::optional<NodeId> leader_id();
  [[nodiscard]] const replica::Replica* replica_of(NodeId node) const;  // null while down
  // The reference model: the chosen log applied in slot order.
  [[nodiscard]] const store::Store& model() const { return model_; }
  [[nodiscard]] const std::optional<std::string>& failure() const { return failure_; }
  // The liveness phase from now on, as run() ends: the network heals, every
  // crashed server restarts, and the workload must settle (every client's
  // requests answered, every server at the model's slot) within
  // liveness_ticks.
  [[nodiscard]] RunResult finish();

  void applied(NodeId replica, Slot slot, const consensus::Entry& entry,
               const store::Store& store) override;
  void installed(NodeId replica, Slot slot, const store::Store& store) override;

 private:
  struct Server;
  struct Client;
  struct Op;

  void start(Server& server);
  void crash(Server& server);
  void begin_sync(Server& server);
  void handle(Server& server);
  void deliver_packets();
  void resume(Server& server);
  void complete_syncs();
  void tick_servers();
  void fault_schedule();
  void client_schedule();
  void new_session(Client& client);
  void pump_client(Client& client);
  void attach(Client& client, NodeId server);
  void detach(Client& client);
  void deliver(Client& client, const std::string& bytes);
  void issue(Client& client);
  client::RequestId submit(Client& client, Op op, protocol::ClientBody body);
  void on_server_message(Client& client, const protocol::ServerMessage& message);
  void on_client_event(Client& client, const client::Event& event);
  void on_watch_event(Client& client, const protocol::WatchEvent& fired);
  [[nodiscard]] bool model_made(const Client& client, const protocol::Event& event) const;
  void check_client_watches(Client& client, const protocol::WatchEvent& fired);
  void on_watch_answer(Client& client, const Op& op, const protocol::Response& response);
  void on_from_watch_answer(Client& client, const protocol::Response& response);
  void check_children(Client& client, const Op& op, const protocol::Response& response);
  void check_watches_settled();
  void issue_read(Client& client, const std::string& path);
  void issue_from_watch(Client& client, const std::string& path);
  void restart_replay(Client& client);
  void on_response(Client& client, const Op& op, const protocol::Response& response);
  void check_write(Client& client, const std::pair<SessionId, std::uint64_t>& key,
                   const protocol::Response& response);
  void check_read(Client& client, const Op& op, const protocol::Response& response);
  void model_apply(Slot slot, const consensus::Entry& entry);
  void check_ephemerals(const protocol::Path& path);
  void note_expired(const store::ExpireSessionsCommand& expire);
  void check_safe_until(const Client& client);
  void run_tick();
  void begin_liveness();
  [[nodiscard]] RunResult result();
  [[nodiscard]] bool converged() const;
  [[nodiscard]] Server* leader();
  [[nodiscard]] replica::Time time_at(const Server& server) const;
  [[nodiscard]] std::int64_t now_ms() const;
  void fail(std::string why);
  void log_line(const std::string& line) const;

  SimOptions options_;
  bool log_notes_;
  base::Prng prng_;
  Network network_;
  std::uint64_t now_ = 0;
  bool faults_ = true;
  std::optional<std::string> failure_;
  RunResult result_;

  std::map<NodeId, std::unique_ptr<Server>> servers_;
  std::vector<std::unique_ptr<Client>> clients_;
  std::map<replica::ClientId, Client*> by_connection_;
  std::uint64_t next_connection_ = 1;

  // The reference model, fed the chosen log in slot order.
  store::Store model_;
  Slot model_applied_{};
  std::vector<std::uint64_t> entry_hashes_;   // index slot - 1
  std::vector<std::uint64_t> model_digests_;  // index slot - 1, after applying it
  // (session, sequence) -> (slot, the model's response), first occurrence.
  std::map<std::pair<SessionId, std::uint64_t>, std::pair<Slot, store::Response>> model_writes_;
  std::set<std::pair<SessionId, std::uint64_t>> acked_writes_;
  // Per path, its state after each change: (zxid, data and stat if it exists).
  struct Version {
    Zxid zxid;
    std::optional<std::pair<std::string, protocol::Stat>> node;
  };
  std::map<std::string, std::vector<Version>> history_;
  std::vector<protocol::Event> model_events_;  // every event, in order
  std::map<std::string, std::vector<protocol::Event>> model_events_by_path_;
  // (zxid, path, type) of every model event: a delivered event must be one.
  std::set<std::tuple<Zxid, std::string, protocol::EventType>> model_event_keys_;
  Zxid completed_zxid_max_{};               // over all completed operations
  // Session -> when the first replica applied its expiry (ms).
  std::map<SessionId, std::int64_t> expired_at_ms_;
};

}  // namespace synod::sim
