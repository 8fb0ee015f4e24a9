// ClientStepper: one single-voter Replica over wal::MemoryDisk fed whatever
// clients may send, as the client fuzz target (fuzz-client) and the
// deterministic fuzz-style unit test (tests/unit/replica/fuzz_test.cpp) both
// drive it (DESIGN.md "Wire protocol": nothing a client sends may assert).
//
// The replica is node 1, the only voter; the constructor ticks it until it
// leads. Every output is handled at once, as synodd's runtime does: syncs
// when asked, snapshot jobs run at once. After every input it checks what
// must hold whatever the input was:
//   - Replica::check_invariants() (which asserts: a crash is a finding);
//   - the replica never goes fatal (MemoryDisk does not fail);
//   - every frame for a client encodes within protocol::frame_bytes_max and
//     decodes again (decode_server).
// A failure is a sentence; the stepper stops checking after the first.
//
// Deterministic: the same inputs give the same run.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/prng.h"
#include "protocol/codec.h"
#include "server/replica/replica.h"
#include "server/wal/memory_disk.h"

namespace synod::fuzz {

class ClientStepper {
 public:
  ClientStepper();

  // Decodes `frame` as a client frame (protocol::decode_client); one that
  // does not decode changes nothing, as the runtime closes that
  // connection. Then steps it on `client`'s connection.
  void step_frame(replica::ClientId client, std::string_view frame);
  void step(replica::ClientId client, protocol::ClientRequest request);
  void client_gone(replica::ClientId client);
  void tick(int ticks = 1);

  [[nodiscard]] const replica::Replica& replica() const { return *replica_; }
  [[nodiscard]] wal::MemoryDisk& disk() { return disk_; }
  [[nodiscard]] const std::optional<std::string>& failure() const { return failure_; }
  // Frames sent to clients so far.
  [[nodiscard]] std::uint64_t answered() const { return answered_; }

 private:
  void settle();
  void check_frame(const replica::ToClient& to);
  void fail(std::string why);

  wal::MemoryDisk disk_;
  base::Prng prng_{7};
  std::unique_ptr<replica::Replica> replica_;
  std::int64_t now_ms_ = 0;
  std::uint64_t answered_ = 0;
  std::optional<std::string> failure_;
};

// The options the stepper's replica runs with: short timeouts and a
// snapshot every 8 entries, so short inputs reach snapshots and expiry.
[[nodiscard]] replica::ReplicaOptions client_fuzz_options();

// The fuzz target's body. The input is a sequence of chunks
//   [u8 control][u8 length][length bytes of a client frame]
// control % 4 picks the connection (ClientId 1..4); control bit 2 ticks
// after the frame ((control >> 3) + 1 ticks); control 0xFF closes the
// connection instead of stepping the frame. Returns the first failure.
[[nodiscard]] std::optional<std::string> run_client_input(std::span<const std::uint8_t> bytes);
// The same on an existing stepper (to look at its disk afterwards).
[[nodiscard]] std::optional<std::string> run_client_input_on(ClientStepper& stepper,
                                                             std::span<const std::uint8_t> bytes);

// Valid inputs in run_client_input's format (sessions, creates, reads,
// watches, multis, closes), to seed a corpus and the unit test's mutations.
[[nodiscard]] std::vector<std::string> client_seed_inputs();

}  // namespace synod::fuzz
