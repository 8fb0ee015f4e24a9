// PeerStepper: one consensus core fed whatever peers may send, as the peer
// fuzz target and the deterministic fuzz-style unit test both drive it
// (consensus/README.md §13: any message is safe to step).
//
// The core is node 1 of the voters {1, 2, 3}, with a short log of its own.
// Every output batch is handled at once: persisted (durable immediately),
// its messages kept in sent(), its chosen entries counted. After every input
// it checks what must hold whatever the input was:
//   - consensus::check_basic, and check_delta against the state before;
//   - every message the core sent encodes (codec::encode_envelope) within
//     consensus::peer_frame_bytes_max.
// A failure is a sentence; the stepper stops checking after the first.
//
// Deterministic: the same seed and inputs give the same run.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/prng.h"
#include "consensus/core.h"
#include "consensus/invariants.h"

namespace synod::fuzz {

class PeerStepper {
 public:
  explicit PeerStepper(std::uint64_t seed);

  // Decodes `frame` as a peer frame with sender and addressee
  // (codec::decode_envelope); one that does not decode changes nothing, as
  // the runtime closes that connection. Then steps it.
  void step_frame(std::string_view frame);
  void step(NodeId from, const consensus::Message& message);
  void tick();
  // Node 2, honest and with an empty log, answers what node 1 sent it
  // since the last take_sent(): it grants pre-votes and promises and
  // accepts every Accept.
  void answer_as_peer();
  // Ticks and answer_as_peer() until node 1 leads (a few dozen ticks).
  // Asserted to succeed.
  void make_leader();
  // Node `leader` sends a heartbeat at `ballot`, which node 1 follows.
  void follow(NodeId leader, Ballot ballot);

  [[nodiscard]] const consensus::Core& core() const { return *core_; }
  [[nodiscard]] consensus::Core& mutable_core() { return *core_; }
  [[nodiscard]] const std::optional<std::string>& failure() const { return failure_; }
  // Everything the core sent since the last take_sent().
  [[nodiscard]] std::vector<consensus::Envelope> take_sent();

 private:
  void drain(const consensus::CoreFacts& before);
  void check_sent(const consensus::Envelope& envelope);

  base::Prng prng_;
  std::unique_ptr<consensus::Core> core_;
  std::vector<consensus::Envelope> sent_;
  std::optional<std::string> failure_;
};

// A message for `core` drawn from `prng`: every kind, with fields near the
// core's own ballots and slots, at the edges of their ranges, or malformed.
[[nodiscard]] consensus::Message draw_message(base::Prng& prng, const consensus::Core& core);
// A sender: mostly 2 or 3, sometimes an unknown id, 0, or node 1 itself.
[[nodiscard]] NodeId draw_sender(base::Prng& prng);

// The fuzz target's body: the first 8 bytes (fewer are zero-padded) seed
// the stepper, then each [u32 little-endian length][frame] is stepped, and a
// length with the top bit set is a tick instead. Returns the first failure.
[[nodiscard]] std::optional<std::string> run_peer_input(std::span<const std::uint8_t> bytes);

// Inputs in run_peer_input's format: ticks and frames of drawn messages from
// node 2 and 3, to seed a corpus (scripts/fuzz.sh).
[[nodiscard]] std::vector<std::string> peer_seed_inputs();

}  // namespace synod::fuzz
