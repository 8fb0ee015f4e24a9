#include "server/replica/sync_gate.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "base/prng.h"

using namespace synod;
using replica::SyncGate;

namespace {

// A vote told apart by its recipient, so the order of what leaves can be read.
consensus::Envelope vote(std::uint32_t to) {
  return consensus::Envelope{NodeId{1}, NodeId{to}, consensus::PreVoteReply{}};
}

std::vector<std::uint32_t> recipients(const SyncGate::Votes& votes) {
  std::vector<std::uint32_t> out;
  for (const consensus::Envelope& e : votes) out.push_back(e.to.value());
  return out;
}

}  // namespace

TEST_CASE("sync gate: a vote whose batch is already durable leaves at once") {
  SyncGate gate;
  gate.wrote(1, true);
  SyncGate::Votes send;
  REQUIRE(gate.made_durable(1, send));
  gate.hold(1, {vote(2)}, send);
  CHECK(recipients(send) == std::vector<std::uint32_t>{2});
  CHECK(gate.batches_waiting() == 0);
  CHECK_FALSE(gate.wants_sync());
  gate.check_invariants();
}

TEST_CASE("sync gate: votes wait for their batch and leave in the order held") {
  SyncGate gate;
  SyncGate::Votes send;
  gate.wrote(1, true);
  gate.hold(1, {vote(2)}, send);
  gate.hold(1, {vote(3)}, send);  // the same batch: kept together
  gate.wrote(2, true);
  gate.hold(2, {vote(4), vote(5)}, send);
  CHECK(send.empty());
  CHECK(gate.batches_waiting() == 2);
  CHECK(gate.wants_sync());
  gate.check_invariants();

  REQUIRE(gate.made_durable(1, send));  // a sync begun before batch 2 was written
  CHECK(recipients(send) == std::vector<std::uint32_t>{2, 3});
  CHECK(gate.wants_sync());
  REQUIRE(gate.made_durable(2, send));
  CHECK(recipients(send) == std::vector<std::uint32_t>{2, 3, 4, 5});
  CHECK_FALSE(gate.wants_sync());
  gate.check_invariants();
}

TEST_CASE("sync gate: a sync that finishes after a later one covered it changes nothing") {
  SyncGate gate;
  SyncGate::Votes send;
  gate.wrote(1, true);
  gate.wrote(2, true);
  gate.hold(2, {vote(2)}, send);
  REQUIRE(gate.made_durable(2, send));
  CHECK_FALSE(gate.made_durable(1, send));
  CHECK_FALSE(gate.made_durable(2, send));
  CHECK(gate.durable_token() == 2);
  CHECK(recipients(send) == std::vector<std::uint32_t>{2});
}

TEST_CASE("sync gate: a batch holding only a chosen mark asks for no sync") {
  SyncGate gate;
  gate.wrote(1, false);
  CHECK_FALSE(gate.wants_sync());
  SyncGate::Votes send;
  gate.hold(1, {vote(2)}, send);  // but a vote claiming it waits all the same
  CHECK(send.empty());
  CHECK(gate.wants_sync());
  REQUIRE(gate.made_durable(1, send));
  CHECK_FALSE(gate.wants_sync());
  CHECK(recipients(send) == std::vector<std::uint32_t>{2});
}

TEST_CASE("sync gate: agrees with a naive list of held votes on random histories") {
  // The model keeps every held vote with its token and releases, at each
  // sync, those at or below it, in the order held: no batching, no merging.
  struct Held {
    std::uint64_t token;
    std::uint32_t to;
  };
  for (std::uint64_t seed = 1; seed <= 50; ++seed) {
    CAPTURE(seed);
    base::Prng prng(seed);
    SyncGate gate;
    std::vector<Held> model;
    std::uint64_t written = 0, durable = 0, wanted = 0, started = 0, held = 0;
    std::uint32_t next_to = 1;
    SyncGate::Votes sent;
    std::vector<std::uint32_t> model_sent;
    for (int step = 0; step < 400; ++step) {
      const std::uint64_t op = prng.below(10);
      if (op < 3) {
        const bool needs = prng.chance(2, 3);
        gate.wrote(++written, needs);
        if (needs) wanted = written;
      } else if (op < 6) {
        // As the core issues them: a vote claims the last batch written.
        const std::uint64_t token = prng.range(std::max(durable, held), written);
        held = token;
        const std::uint32_t to = next_to++;
        gate.hold(token, {vote(to)}, sent);
        if (token <= durable) model_sent.push_back(to);
        else model.push_back({token, to});
      } else if (op < 8) {
        started = written;  // a sync begins
      } else {
        const std::uint64_t token = prng.chance(1, 4) ? prng.range(0, started) : started;
        const bool advanced = gate.made_durable(token, sent);
        CHECK(advanced == (token > durable));
        if (token > durable) {
          durable = token;
          std::vector<Held> kept;
          for (const Held& h : model) {
            if (h.token <= durable) model_sent.push_back(h.to);
            else kept.push_back(h);
          }
          model = std::move(kept);
        }
      }
      REQUIRE(recipients(sent) == model_sent);
      CHECK(gate.wants_sync() == (wanted > durable || !model.empty()));
      CHECK(gate.durable_token() == durable);
      gate.check_invariants();
    }
  }
}
