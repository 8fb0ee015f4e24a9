// Hostile client input, through the stepper the client fuzz target shares
// (tests/fuzz/client_step.h): the seed inputs, random valid requests on
// several connections, mutated seeds and random bytes, all from seeded
// Prngs, so the gcc build's ctest runs what fuzz-client explores. Each crash
// the fuzzer found is a named case below.
#include <doctest/doctest.h>

#include <span>
#include <string>

#include "base/prng.h"
#include "tests/fuzz/client_step.h"
#include "tests/unit/codec/random_values.h"

using namespace synod;
using synod::fuzz::ClientStepper;
using synod::replica::ClientId;

namespace {

std::optional<std::string> run(const std::string& input) {
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(input.data());
  return fuzz::run_client_input(std::span(bytes, input.size()));
}

// A one-voter data dir holding `batch`, written and synced as Storage does,
// then opened as a Replica; the result of that open.
protocol::Result<std::unique_ptr<replica::Replica>> open_with(
    const consensus::PersistBatch& batch) {
  wal::MemoryDisk disk;
  const consensus::Configuration config{{NodeId{1}}, {}};
  {
    auto opened = replica::Storage::open(
        disk, wal::WalOptions{},
        consensus::Snapshot{Slot{0}, config, std::make_shared<const std::string>()});
    REQUIRE(opened.ok());
    REQUIRE(opened.value().storage.write(batch).ok());
    REQUIRE(opened.value().storage.sync().ok());
  }
  base::Prng prng(3);
  return replica::Replica::open(fuzz::client_fuzz_options(), disk, prng, config,
                                replica::Time{0, 0});
}

std::string mutate(base::Prng& prng, std::string input) {
  for (std::uint64_t flips = prng.range(1, 6); flips > 0 && !input.empty(); --flips) {
    input[prng.below(input.size())] = static_cast<char>(prng.below(256));
  }
  if (prng.chance(1, 4)) input.resize(prng.below(input.size() + 1));
  if (prng.chance(1, 4) && !input.empty()) {
    const std::size_t from = prng.below(input.size());
    input += input.substr(from, prng.below(input.size() - from + 1));
  }
  return input;
}

}  // namespace

TEST_CASE("client fuzz: the seed inputs run clean and are answered") {
  for (const std::string& input : fuzz::client_seed_inputs()) {
    ClientStepper s;
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(input.data());
    const auto failure = fuzz::run_client_input_on(s, std::span(bytes, input.size()));
    REQUIRE_MESSAGE(!failure.has_value(), failure.value_or(""));
    CHECK(s.answered() >= 3);
    CHECK(s.replica().applied() > Slot{2});
  }
}

TEST_CASE("client fuzz: random requests on four connections keep every invariant") {
  for (std::uint64_t seed = 1; seed <= 6; ++seed) {
    ClientStepper s;
    base::Prng prng(seed * 104729);
    for (int i = 0; i < 400 && !s.failure(); ++i) {
      const ClientId client{prng.range(1, 4)};
      const std::uint64_t action = prng.below(16);
      if (action == 0) {
        s.tick(static_cast<int>(prng.range(1, 30)));
      } else if (action == 1) {
        s.client_gone(client);
      } else if (action < 5) {
        s.step(client, protocol::ClientRequest{prng.below(8), protocol::OpenSessionRequest{
                                                                  1000, std::nullopt, Zxid{}}});
      } else {
        s.step(client, codec::test::random_client_request(prng));
      }
    }
    REQUIRE_MESSAGE(!s.failure().has_value(), s.failure().value_or(""));
    CHECK(s.answered() > 100);
  }
}

TEST_CASE("client fuzz: mutated seeds and random bytes keep every invariant") {
  const auto seeds = fuzz::client_seed_inputs();
  base::Prng prng(0xC11E);
  for (int i = 0; i < 150; ++i) {
    const std::string input = prng.chance(1, 3) ? codec::test::random_bytes(prng, 600)
                                                : mutate(prng, seeds[prng.below(seeds.size())]);
    const auto failure = run(input);
    REQUIRE_MESSAGE(!failure.has_value(), failure.value_or(""));
  }
}

TEST_CASE("client fuzz: a chosen entry on disk that does not decode fails open as CORRUPTED") {
  // Found by fuzz-recovery (tests/unit/wal/fuzz_test.cpp keeps its input):
  // a log record whose CRC holds but whose command is no LogCommand asserted
  // in Replica::apply while the replica replayed it at open. Disk input is
  // never asserted on: the replica goes fatal, naming the slot.
  consensus::PersistBatch batch;
  const Ballot ballot{1, NodeId{1}};
  batch.promised = ballot;
  batch.accepted.push_back({Slot{1}, ballot, consensus::Entry::command("no LogCommand")});
  batch.chosen = Slot{1};
  auto replica = open_with(batch);
  REQUIRE_FALSE(replica.ok());
  CHECK(replica.status().error == protocol::Error::CORRUPTED);
  CHECK(replica.status().message.find("slot 1") != std::string::npos);
}

TEST_CASE("client fuzz: a value accepted above the promise on disk fails open as CORRUPTED") {
  // Found by fuzz-recovery: the core asserts every recovered value was
  // accepted at or below the promise (rule W1 writes the promise first), so
  // Replica::open asserted on a disk that says otherwise; now it refuses it.
  consensus::PersistBatch batch;
  batch.promised = Ballot{1, NodeId{1}};
  batch.accepted.push_back({Slot{1}, Ballot{5, NodeId{2}}, consensus::Entry::noop()});
  auto replica = open_with(batch);
  REQUIRE_FALSE(replica.ok());
  CHECK(replica.status().error == protocol::Error::CORRUPTED);
  CHECK(replica.status().message.find("slot 1") != std::string::npos);
}
