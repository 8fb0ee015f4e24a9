// Recovery from arbitrary bytes, through the step the recovery fuzz target
// shares (tests/fuzz/recovery_step.h): data dirs a replica wrote, then the
// same mutated (bytes flipped, files cut, dropped or doubled) and random
// bytes, from seeded Prngs, so the gcc build's ctest runs what
// fuzz-recovery explores. Each crash the fuzzer found is a named case below.
#include <doctest/doctest.h>

#include <span>
#include <string>

#include "base/prng.h"
#include "tests/fuzz/recovery_step.h"

using namespace synod;

namespace {

fuzz::RecoveryOutcome run(const std::string& input) {
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(input.data());
  return fuzz::run_recovery_input(std::span(bytes, input.size()));
}

std::string random_bytes(base::Prng& prng, std::size_t max) {
  std::string out(prng.below(max + 1), '\0');
  for (char& c : out) c = static_cast<char>(prng.below(256));
  return out;
}

std::string mutate(base::Prng& prng, std::string input) {
  for (std::uint64_t flips = prng.range(1, 4); flips > 0 && !input.empty(); --flips) {
    const std::size_t at = prng.below(input.size());
    input[at] = static_cast<char>(input[at] ^ (1 << prng.below(8)));
  }
  if (prng.chance(1, 4)) input.resize(prng.below(input.size() + 1));
  if (prng.chance(1, 4) && !input.empty()) {
    const std::size_t from = prng.below(input.size());
    input.erase(from, prng.below(input.size() - from + 1));
  }
  if (prng.chance(1, 8)) input += random_bytes(prng, 64);
  return input;
}

}  // namespace

TEST_CASE("recovery fuzz: the seed data dirs recover whole") {
  const auto seeds = fuzz::recovery_seed_inputs();
  REQUIRE(seeds.size() >= 4);
  Slot newest{};
  for (const std::string& input : seeds) {
    const auto outcome = run(input);
    CHECK(outcome.identity_read);
    CHECK(outcome.storage_opened);
    CHECK(outcome.replica_opened);
    newest = std::max(newest, outcome.snapshot);
  }
  CHECK(newest > Slot{0});  // some seed holds a snapshot
}

TEST_CASE("recovery fuzz: mutated data dirs and random bytes recover or fail, never crash") {
  const auto seeds = fuzz::recovery_seed_inputs();
  base::Prng prng(0x2EC0);
  std::size_t opened = 0, refused = 0;
  for (int i = 0; i < 600; ++i) {
    const std::string input =
        prng.chance(1, 6) ? random_bytes(prng, 400) : mutate(prng, seeds[prng.below(seeds.size())]);
    const auto outcome = run(input);
    (outcome.replica_opened ? opened : refused) += 1;
  }
  CHECK(opened > 0);
  CHECK(refused > 0);
}

TEST_CASE("recovery fuzz: checksummed files of random and mutated bodies never crash") {
  // Framed pieces (kind & 8) carry valid checksums, so these reach the
  // decoders behind them: meta, identity, WAL records, snapshot payloads.
  const auto seeds = fuzz::recovery_seed_inputs();
  base::Prng prng(0xF2A3);
  for (int i = 0; i < 400; ++i) {
    std::string input = prng.chance(1, 2) ? seeds[prng.below(seeds.size())] : std::string();
    for (std::uint64_t pieces = prng.range(1, 5); pieces > 0; --pieces) {
      const std::string body = random_bytes(prng, 200);
      input.push_back(static_cast<char>(8 | prng.below(8)));
      input.push_back(static_cast<char>(prng.range(0, 20)));
      input.push_back(static_cast<char>(body.size() & 0xFF));
      input.push_back(static_cast<char>(body.size() >> 8));
      input += body;
    }
    (void)run(prng.chance(1, 3) ? mutate(prng, input) : input);
  }
}

namespace {

std::string from_hex(std::string_view hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

}  // namespace

// Crashes fuzz-recovery found, each kept as its input.

TEST_CASE("recovery fuzz: crash a9e0f9b1, a chosen log entry that does not decode, is CORRUPTED") {
  // A framed WAL whose chosen command's bytes pass the CRC but are no
  // LogCommand: Replica::open asserted while replaying it; now it refuses
  // the data dir, naming the slot.
  const std::string input = from_hex(
      "08000c000100000000000000010000000c0155012200010100000000000000010000000000000001"
      "0000000000000000000000000000000009000201000000000000006a000102000000000000000100"
      "0000000000000100000001480000001400000000000e0022000c0000001400070008000e00000000"
      "000002200000007868e5cf8b010000547eec04a9fd010000000000000006000c00040006000000e8"
      "0300000000000000000000000000000900020200000000000000a200010300000000000000010000"
      "00000000000100000001800000001400000000000e0024000c0014001c00070008000e0000000000"
      "0006280000007868e5cf8b010000020000000000000002000000000000000c0016000c0000000700"
      "08000c000000000000000000000000000000000900020200000000000000a2000103000000000000"
      "00010c0000000400000000000000020000002f6d0000000000000000000009000203000000000000"
      "00");
  const auto outcome = run(input);
  CHECK(outcome.storage_opened);
  CHECK_FALSE(outcome.replica_opened);
}
