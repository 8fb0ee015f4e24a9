// Core: one replica's Multi-Paxos — proposer, acceptor and learner — as a
// pure state machine (consensus/README.md). It does no I/O, reads no clock
// and starts no thread: input arrives through step(), tick(), propose() and
// the completion calls; output leaves through take_output(), one batch whose
// ordering obligations are written in consensus/output.h.
//
// The same Core runs in synodd (server/replica, driven by Asio) and in the
// simulator (tests/sim), which checks consensus/invariants.h after every
// event.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "base/prng.h"
#include "consensus/limits.h"
#include "consensus/message.h"
#include "consensus/options.h"
#include "consensus/output.h"
#include "consensus/types.h"

namespace synod::consensus {

// Role state lives in a variant, so follower code cannot read leader state.
struct Follower {};

struct Candidate {
  enum class Phase { pre_vote, prepare };
  Phase phase = Phase::pre_vote;
  Ballot ballot;  // pre_vote: the ballot it would use; prepare: its ballot
  Slot from;      // prepare: the first slot phase 1 covers (chosen + 1)
  bool transfer = false;
  std::uint32_t elapsed_ticks = 0;
  std::vector<NodeId> pre_votes;           // granted, sorted
  std::uint64_t self_promise_token = 0;    // our own promise counts once durable
  std::map<NodeId, Promise> promises;      // granted, complete and usable, self included
  // Pages of granted promises still arriving, by acceptor and first slot.
  std::map<NodeId, std::map<Slot, Promise>> pages;
  // The values of `promises` merged per slot: a value known chosen wins,
  // then the highest ballot (README §3.1).
  std::map<Slot, PromiseEntry> merged;
};

// The leader's view of one peer (README §3.2).
struct Progress {
  Slot next{1};   // the next slot to send
  Slot match{};   // highest frontier acknowledged at this ballot
  std::uint32_t stalled_ticks = 0;  // ticks since match last advanced
  std::uint32_t silent_ticks = 0;   // ticks since it last answered at this ballot
  std::uint64_t read_acked = 0;     // highest read-index round it acknowledged
  bool acked_since_check = false;
  bool snapshot_sending = false;
  Slot snapshot_slot{};
  std::uint64_t snapshot_offset = 0;
};

// A read-index round waiting for a quorum (README §11).
struct PendingRead {
  std::uint64_t seq = 0;   // the round that must be acknowledged
  Slot index;              // the chosen point to read at
  NodeId requester;        // self for a local read
  std::uint64_t id = 0;    // the requester's id
  std::uint64_t nonce = 0;  // the requester's ReadIndex::nonce, echoed
};

struct Leader {
  Ballot ballot;
  Slot from;       // the first slot of this leadership
  Slot first_own;  // the no-op that opened it; reconfiguration waits for it
  std::map<NodeId, Progress> peers;
  std::uint32_t heartbeat_elapsed = 0;
  std::uint32_t check_elapsed = 0;
  std::optional<NodeId> transfer_target;
  std::uint32_t transfer_elapsed = 0;
  std::uint64_t read_seq = 0;
  std::deque<PendingRead> reads;
};

struct ProposeResult {
  enum class Kind { accepted, not_leader, busy, too_large };
  Kind kind = Kind::not_leader;
  Slot first{};           // accepted: the slot of the first entry
  NodeId leader_hint{};   // not_leader: who we believe leads, or no_node
};

struct MembershipChange {
  enum class Op { add_learner, promote, remove };
  Op op = Op::add_learner;
  NodeId node{};
};

// Why a peer's message was dropped without effect (README §13). Each is
// counted (Core::rejected, Status::rejected) for the runtime's /metrics;
// none is ever asserted.
enum class Rejection : std::uint8_t {
  sender,             // from no_node, or from ourselves
  ballot_overflow,    // a ballot round at or above round_limit
  foreign_ballot,     // a ballot that must be the sender's own and is not
  slot_overflow,      // a slot, or the end of a slot range, at or above slot_limit
  malformed_entry,    // an entry of unknown kind or with another kind's field
  entry_too_large,    // an entry over entry_wire_bytes_max
  promise_page,       // a Promise page whose entries do not run from `from` to `more_from`
  snapshot_chunk,     // past its total, an invalid configuration, or a changed total
  beyond_log,         // an Accepted frontier or a SnapshotAck slot past our log end
  read_round,         // an echoed round we never started; a reply meant for another life
  conflicting_value,  // a second value at one ballot, or a second chosen value, for a slot
};
inline constexpr std::size_t rejection_kinds = 11;
// "ballot_overflow": the label /metrics exports.
[[nodiscard]] const char* rejection_name(Rejection reason);

// A leader's view of one member, for operators (/status, /metrics).
struct MemberProgress {
  NodeId id{};
  Slot match{};                       // highest slot it acknowledged durable
  std::uint32_t silent_ticks = 0;     // ticks since it last answered
  bool snapshot_sending = false;      // it is being sent a snapshot
  std::uint64_t snapshot_offset = 0;  // bytes of it acknowledged so far
};

struct Status {
  const char* role = "follower";
  Ballot promised;
  NodeId leader{};
  Slot log_start{};
  Slot log_end{};
  Slot chosen{};
  Configuration config;  // the configuration of the chosen prefix
  // The leader's view of every other member, by id; empty unless leader.
  std::vector<MemberProgress> progress;
  std::array<std::uint64_t, rejection_kinds> rejected{};  // by Rejection
  // Stale, duplicate and foreign messages.
  std::uint64_t ignored = 0;
};

class Core {
 public:
  // Builds a replica from what it recovered (a new server passes a Durable
  // whose snapshot holds the initial configuration at slot 0). `prng` must
  // outlive the core; it is the only randomness the core uses.
  Core(Options options, Durable recovered, base::Prng& prng);

  // Advances time by one tick.
  void tick();
  // Handles one message from `from`. Stale, duplicate and foreign messages
  // are ignored (and counted), never treated as errors. Any message at all
  // is safe to step: one outside the ranges in consensus/limits.h, with a
  // malformed entry, or contradicting what we know (README §13) is dropped
  // and counted by Rejection, never asserted.
  void step(NodeId from, const Message& message);

  // Appends commands as the leader. Entries must not be config entries (use
  // change_membership). Busy while a transfer runs or the log is full;
  // too_large, proposing nothing, if an entry does not fit a message
  // (entry_fits: its command is over command_bytes_max).
  [[nodiscard]] ProposeResult propose(std::vector<Entry> entries);
  // How many more entries propose() takes before the unchosen log reaches
  // pending_slots_max (busy beyond it).
  [[nodiscard]] std::uint64_t proposal_room() const;
  // One voter or learner change at a time (README §6). Empty string when the
  // change was proposed; otherwise why it was refused (also when `data`
  // does not fit an entry). `data` rides in the configuration entry
  // (Entry::data) and is applied with it: the owner's record of the change
  // (the replica's: who asked, the new member's addresses).
  [[nodiscard]] std::string change_membership(MembershipChange change, std::string data = {});
  // Asks the leader to hand leadership to `target` (README §7). Empty string
  // when started; otherwise why not.
  [[nodiscard]] std::string transfer_leadership(NodeId target);

  // Read-index (README §11): the answer arrives as Output::reads{id}, ok with
  // a chosen point to read at, or not ok when no leader could confirm it.
  // `sessions` were active here: the leader notes them (Output::touched)
  // before it starts the round, so an ok answer proves it heard of them. At
  // most sessions_per_message_max sessions (asserted). Ids need not be
  // unique across restarts: a reply meant for an earlier life is refused.
  // `vouches`: the answer will vouch for sessions (ReadIndex::vouches), so
  // its index covers every slot the leader has proposed.
  void read_index(std::uint64_t id, std::vector<std::uint64_t> sessions = {},
                  bool vouches = false);
  // Hands client writes to the leader (README §12), in as many Forwards as
  // their bytes need (accept_bytes_max each). False when no leader is
  // known; delivery is not guaranteed either way. An entry that does not fit
  // a message (entry_fits) is not sent; a note says so.
  [[nodiscard]] bool forward(std::vector<Entry> entries);
  // Reports active sessions to the leader (README §12), in Touches of at
  // most sessions_per_message_max. False when no leader is known. On the
  // leader itself they go straight to Output::touched.
  bool touch(std::vector<std::uint64_t> sessions);

  // Everything in persist batches up to `token` is durable. Tokens must be
  // reported in increasing order.
  void on_persisted(std::uint64_t token);
  // The owner has durably saved the state machine's snapshot at `through`
  // (<= the last chosen slot handed out); the log prefix is dropped.
  void compact(Slot through, std::shared_ptr<const std::string> data);

  [[nodiscard]] bool has_output() const { return !output_.empty(); }
  [[nodiscard]] Output take_output();
  [[nodiscard]] Status status() const;

  // Read-only views for invariants, the simulator and tests.
  [[nodiscard]] NodeId self() const { return options_.self; }
  [[nodiscard]] Ballot promised() const { return promised_; }
  [[nodiscard]] Slot chosen() const { return chosen_; }
  [[nodiscard]] Slot log_start() const { return log_start_; }
  [[nodiscard]] Slot log_end() const;
  [[nodiscard]] const Entry& entry_at(Slot slot) const;
  [[nodiscard]] Ballot ballot_at(Slot slot) const;
  [[nodiscard]] bool is_leader() const { return std::holds_alternative<Leader>(role_); }
  [[nodiscard]] const Leader* leader_state() const { return std::get_if<Leader>(&role_); }
  [[nodiscard]] const Snapshot& snapshot() const { return snapshot_; }
  // The configuration governing `slot`: the last config entry before it.
  // slot >= log_start().
  [[nodiscard]] const Configuration& config_for(Slot slot) const;
  [[nodiscard]] const Configuration& chosen_config() const { return config_for(next(chosen_)); }
  [[nodiscard]] const Configuration& latest_config() const { return config_for(next(log_end())); }
  [[nodiscard]] std::optional<Slot> unchosen_config_slot() const;
  [[nodiscard]] std::uint64_t ignored_messages() const { return ignored_messages_; }
  [[nodiscard]] std::uint64_t rejected(Rejection reason) const {
    return rejected_[static_cast<std::size_t>(reason)];
  }

 private:
  struct LogSlot {
    Ballot ballot;
    Entry entry;
  };

  // core.cpp: log, output and shared helpers.
  LogSlot& slot_ref(Slot slot);
  void write_slot(Slot slot, Ballot ballot, Entry entry);
  void raise_promise(Ballot ballot);
  void observe(Ballot ballot);
  void advance_chosen(Slot to);
  void on_config_chosen(Slot slot);
  void send(NodeId to, Message message, bool after_persist);
  void note(std::string sentence);
  [[nodiscard]] std::uint64_t batch_token() const;
  [[nodiscard]] bool leader_is_live() const;
  [[nodiscard]] std::optional<Ballot> next_own_ballot();
  [[nodiscard]] std::vector<NodeId> known_members() const;
  void reset_election_timer();
  void become_follower(NodeId leader);

  // validate.cpp: what a message must satisfy before it is handled.
  [[nodiscard]] std::optional<Rejection> check_shape(NodeId from, const Message& message) const;
  [[nodiscard]] bool accept_conflicts(const Accept& m) const;
  [[nodiscard]] bool promise_conflicts(const Candidate& candidate, const Promise& m) const;
  // `what`: the message's name (message_name).
  void reject(NodeId from, const char* what, Rejection reason);

  // acceptor.cpp: phase 1b, phase 2b, snapshot install, stickiness.
  void on_prepare(NodeId from, const Prepare& m);
  void fill_promise_page(Promise& page) const;
  void on_accept(NodeId from, const Accept& m);
  void on_snapshot_chunk(NodeId from, const SnapshotChunk& m);
  bool follow_ballot(NodeId from, Ballot ballot);
  void install_snapshot(Ballot ballot, Slot slot, const Configuration& config);

  // election.cpp: pre-vote, phase 1a, winning.
  void on_pre_vote(NodeId from, const PreVote& m);
  void on_pre_vote_reply(NodeId from, const PreVoteReply& m);
  void on_promise(NodeId from, const Promise& m);
  void on_timeout_now(NodeId from, const TimeoutNow& m);
  void start_pre_vote();
  void start_prepare(bool transfer);
  void maybe_win();
  [[nodiscard]] Promise own_promise(Ballot ballot, Slot from) const;
  void gather_promise_page(Candidate& candidate, NodeId from, const Promise& page);
  void take_promise(Candidate& candidate, NodeId from, Promise promise);
  void request_missing_pages(const Candidate& candidate);
  void become_leader();

  // reads.cpp: read-index rounds, forwarding and liveness relay.
  void on_forward(NodeId from, const Forward& m);
  void on_touch(NodeId from, const Touch& m);
  void on_read_index(NodeId from, const ReadIndex& m);
  void on_read_index_reply(NodeId from, const ReadIndexReply& m);
  void start_read(Leader& leader, NodeId requester, std::uint64_t id, std::uint64_t nonce,
                  bool vouches);
  void maybe_release_reads();
  void fail_reads(Leader& leader);
  void answer_read(const PendingRead& read, bool ok);

  // leader.cpp: phase 2a, the chosen point, catch-up, membership, transfer.
  void on_accepted(NodeId from, const Accepted& m);
  void on_snapshot_ack(NodeId from, const SnapshotAck& m);
  void leader_tick(Leader& leader);
  void maybe_send(Leader& leader, NodeId peer, bool heartbeat);
  void send_snapshot_chunk(Leader& leader, NodeId peer, Progress& progress);
  void broadcast(bool heartbeat);
  void leader_advance_chosen();
  void leader_count_votes();
  void maybe_promote_learner();
  void maybe_finish_transfer();
  void sync_peers();
  [[nodiscard]] Slot send_limit() const;
  [[nodiscard]] bool step_down_if_outvoted(Ballot promised_by_peer);

  Options options_;
  base::Prng& prng_;

  // Acceptor state; durable through Output::persist.
  Ballot promised_;
  Snapshot snapshot_;
  Slot log_start_{1};
  std::deque<LogSlot> log_;
  std::map<Slot, Configuration> configs_;  // config entries at slots >= log_start_

  // Learner state.
  Slot chosen_{};
  Slot emitted_{};  // the last chosen slot handed out in Output::chosen
  Ballot frontier_ballot_;  // the ballot of the contiguous run we accept
  Slot frontier_{};         // every slot <= frontier_ is chosen or accepted at it
  struct IncomingSnapshot {
    Slot slot;
    Configuration config;
    std::uint64_t total_bytes = 0;
    std::string data;
  };
  std::optional<IncomingSnapshot> incoming_;

  // Durability tracking for our own votes (README §2).
  struct PendingPersist {
    std::uint64_t token;
    Ballot frontier_ballot;
    Slot frontier;
  };
  std::deque<PendingPersist> pending_persists_;
  std::uint64_t issued_token_ = 0;
  std::uint64_t durable_token_ = 0;
  Ballot durable_frontier_ballot_;
  Slot durable_frontier_{};

  // Liveness.
  std::variant<Follower, Candidate, Leader> role_;
  NodeId leader_hint_{};
  std::uint64_t max_round_seen_ = 0;
  std::uint32_t ticks_since_leader_ = 0;
  std::uint32_t election_elapsed_ = 0;
  std::uint32_t election_timeout_ = 0;

  // Drawn once per life; rides on our ReadIndex and must come back (§11).
  std::uint64_t read_nonce_ = 0;

  Output output_;
  std::uint64_t ignored_messages_ = 0;
  std::array<std::uint64_t, rejection_kinds> rejected_{};
};

}  // namespace synod::consensus
