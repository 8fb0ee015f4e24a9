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
  for (const std::string& input : seeds) {
    const auto outcome = run(input);
    CHECK(outcome.identity_read);
    CHECK(outcome.storage_opened);
    CHECK(outcome.replica_opened);
  }
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
