// Hostile and malformed peer messages (consensus/README.md §13): each shape
// the core refuses is stepped into a live core, which survives, keeps its
// invariants and counts the refusal by reason. Then thousands of random and
// mutated messages and frames, from a seeded Prng, through the stepper the
// libFuzzer target uses (tests/fuzz/peer_step.h).
#include <doctest/doctest.h>

#include <limits>
#include <string>

#include "base/prng.h"
#include "consensus/core.h"
#include "server/codec/peer.h"
#include "tests/fuzz/peer_step.h"

using namespace synod;
using namespace synod::consensus;
using synod::fuzz::PeerStepper;

namespace {

constexpr std::uint64_t u64_max = std::numeric_limits<std::uint64_t>::max();
const NodeId two{2};
const NodeId three{3};

void require_healthy(const PeerStepper& s) {
  REQUIRE_MESSAGE(!s.failure().has_value(), s.failure().value_or(""));
}

// Node 1 runs: pre-vote granted by node 2, then its Prepare is out and its
// own promise taken; it waits for node 2's promise.
Ballot start_candidacy(PeerStepper& s) {
  for (int i = 0; i < 100; ++i) {
    s.tick();
    for (const Envelope& e : s.take_sent()) {
      if (const auto* pv = std::get_if<PreVote>(&e.message); pv && e.to == two) {
        s.step(two, PreVoteReply{pv->ballot, true, pv->ballot});
      }
    }
    const auto status = s.core().status();
    if (std::string(status.role) == "candidate" && status.promised.node == NodeId{1}) {
      (void)s.take_sent();
      return status.promised;
    }
  }
  FAIL("node 1 never ran");
  return {};
}

}  // namespace

TEST_CASE("hostile: an Accepted with a frontier past the leader's log end is dropped") {
  PeerStepper s(1);
  s.make_leader();
  const Ballot b = s.core().promised();
  s.step(two, Accepted{b, true, b, Slot{s.core().log_end().value() + 5}, Slot{}, false, 0});
  require_healthy(s);
  CHECK(s.core().rejected(Rejection::beyond_log) == 1);
  CHECK(s.core().is_leader());
}

TEST_CASE("hostile: an Accepted echoing a read round the leader never started is dropped") {
  PeerStepper s(2);
  s.make_leader();
  const Ballot b = s.core().promised();
  s.step(two, Accepted{b, true, b, s.core().chosen(), Slot{}, false, 99});
  require_healthy(s);
  CHECK(s.core().rejected(Rejection::read_round) == 1);
}

TEST_CASE("hostile: a SnapshotAck for a slot past the leader's log is dropped") {
  PeerStepper s(3);
  s.make_leader();
  const Ballot b = s.core().promised();
  s.step(two, SnapshotAck{b, true, b, Slot{s.core().log_end().value() + 10}, 0, true});
  require_healthy(s);
  CHECK(s.core().rejected(Rejection::beyond_log) == 1);
}

TEST_CASE("hostile: snapshot chunks whose total grows mid-transfer are dropped") {
  PeerStepper s(4);
  const Ballot b{2, two};
  s.follow(two, b);
  const Configuration config{{NodeId{1}, two, three}, {}};
  s.step(two, SnapshotChunk{b, Slot{10}, config, 0, 10, "01234"});
  s.step(two, SnapshotChunk{b, Slot{10}, config, 5, 100, std::string(50, 'x')});
  require_healthy(s);
  CHECK(s.core().rejected(Rejection::snapshot_chunk) == 1);
  CHECK(s.core().snapshot().slot == Slot{0});
}

TEST_CASE("hostile: a message from no node, or claiming to be from ourselves, is dropped") {
  PeerStepper s(5);
  s.step(no_node, PreVote{Ballot{2, no_node}, Slot{9}});
  s.step(NodeId{1}, Accept{Ballot{9, NodeId{1}}, Slot{2}, {Entry::noop()}, Slot{}, 0});
  require_healthy(s);
  CHECK(s.core().rejected(Rejection::sender) == 2);
  CHECK(s.take_sent().empty());
}

TEST_CASE("hostile: a ballot at the top of the round range is refused and elections go on") {
  PeerStepper s(6);
  s.step(two, Prepare{Ballot{u64_max, two}, Slot{1}, false});
  s.step(two, Accept{Ballot{round_limit, two}, Slot{2}, {}, Slot{}, 0});
  require_healthy(s);
  CHECK(s.core().rejected(Rejection::ballot_overflow) == 2);
  s.make_leader();
  CHECK(s.core().promised().round < round_limit);

  // The highest round a peer may use is taken: node 1 can no longer run,
  // and says so, but nothing breaks.
  PeerStepper last(7);
  last.step(two, Prepare{Ballot{round_limit - 1, two}, Slot{1}, false});
  for (int i = 0; i < 100; ++i) last.tick();
  require_healthy(last);
  CHECK_FALSE(last.core().is_leader());
}

TEST_CASE("hostile: a Prepare or an Accept at another node's ballot is dropped") {
  PeerStepper s(8);
  const Ballot before = s.core().promised();
  s.step(three, Prepare{Ballot{5, two}, Slot{1}, false});
  s.step(three, Accept{Ballot{5, two}, Slot{2}, {}, Slot{}, 0});
  require_healthy(s);
  CHECK(s.core().rejected(Rejection::foreign_ballot) == 2);
  CHECK(s.core().promised() == before);
}

TEST_CASE("hostile: a slot range running past slot_limit is dropped") {
  PeerStepper s(9);
  const Ballot b{2, two};
  s.follow(two, b);
  s.step(two,
         Accept{b, Slot{u64_max - 1}, {Entry::noop(), Entry::noop(), Entry::noop()}, Slot{}, 0});
  s.step(two, Prepare{Ballot{3, two}, Slot{u64_max}, false});
  require_healthy(s);
  CHECK(s.core().rejected(Rejection::slot_overflow) == 2);
}

TEST_CASE("hostile: an Accept with a malformed or oversized entry writes nothing") {
  PeerStepper s(10);
  const Ballot b{2, two};
  s.follow(two, b);
  const Slot end = s.core().log_end();
  const Entry unsorted = Entry::reconfig(Configuration{{three, NodeId{1}}, {}});
  s.step(two, Accept{b, Slot{2}, {unsorted}, Slot{}, 0});
  s.step(two, Accept{b, Slot{2}, {Entry{EntryKind::noop, "payload", {}}}, Slot{}, 0});
  s.step(two,
         Accept{b, Slot{2}, {Entry::command(std::string(command_bytes_max + 1, 'x'))}, Slot{}, 0});
  require_healthy(s);
  CHECK(s.core().rejected(Rejection::malformed_entry) == 2);
  CHECK(s.core().rejected(Rejection::entry_too_large) == 1);
  CHECK(s.core().log_end() == end);
  CHECK(s.core().entry_at(Slot{2}).data == std::string(1500, 'b'));
}

TEST_CASE("hostile: an Accept with a second value at a ballot we hold a slot at is dropped") {
  PeerStepper s(11);
  // The stepper's log holds slots 1..3 accepted at (1,2).
  s.step(two, Accept{Ballot{1, two}, Slot{2}, {Entry::command("other")}, Slot{}, 0});
  require_healthy(s);
  CHECK(s.core().rejected(Rejection::conflicting_value) == 1);
  CHECK(s.core().entry_at(Slot{2}).data == std::string(1500, 'b'));
}

TEST_CASE("hostile: a Forward carrying a configuration is dropped by the leader") {
  PeerStepper s(12);
  s.make_leader();
  s.step(two, Forward{{Entry::reconfig(Configuration{{NodeId{1}}, {}})}});
  require_healthy(s);
  CHECK(s.core().rejected(Rejection::malformed_entry) == 1);
}

TEST_CASE(
    "hostile: a promise page with a hole, or one that contradicts our own, does not "
    "count") {
  PeerStepper s(13);
  const Ballot b = start_candidacy(s);
  const Slot from = next(s.core().chosen());
  Promise holed{b, from, true, b, Slot{1}, Slot{}, {}};
  holed.entries = {{from, Ballot{1, two}, Entry::noop(), false},
                   {Slot{from.value() + 2}, Ballot{1, two}, Entry::noop(), false}};
  s.step(two, holed);
  // Slot 2 was accepted at (1,2) with 1500 b's here; node 2 claims another.
  Promise contradicting{b, from, true, b, Slot{1}, Slot{}, {}};
  contradicting.entries = {{from, Ballot{1, two}, Entry::command("forged"), false}};
  s.step(two, contradicting);
  require_healthy(s);
  CHECK(s.core().rejected(Rejection::promise_page) == 1);
  CHECK(s.core().rejected(Rejection::conflicting_value) == 1);
  CHECK_FALSE(s.core().is_leader());
}

TEST_CASE(
    "hostile: thousands of random and mutated peer messages leave every invariant "
    "intact") {
  std::size_t reasons_seen = 0;
  for (std::uint64_t seed = 1; seed <= 8; ++seed) {
    PeerStepper s(seed);
    base::Prng prng(seed * 7919);
    for (int i = 0; i < 3000 && !s.failure(); ++i) {
      const std::uint64_t action = prng.below(10);
      if (action < 2) {
        s.tick();
      } else if (action < 4) {
        s.answer_as_peer();
      } else if (action < 8) {
        s.step(fuzz::draw_sender(prng), fuzz::draw_message(prng, s.core()));
      } else {
        std::string frame = codec::encode_envelope(
            {fuzz::draw_sender(prng), NodeId{1}, fuzz::draw_message(prng, s.core())});
        for (std::uint64_t flips = prng.below(4); flips > 0 && !frame.empty(); --flips) {
          frame[prng.below(frame.size())] = static_cast<char>(prng.below(256));
        }
        if (prng.chance(1, 4)) frame.resize(prng.below(frame.size() + 1));
        s.step_frame(frame);
      }
    }
    require_healthy(s);
    std::size_t seen = 0;
    for (std::size_t r = 0; r < rejection_kinds; ++r) {
      if (s.core().rejected(static_cast<Rejection>(r)) > 0) ++seen;
    }
    reasons_seen = std::max(reasons_seen, seen);
  }
  CHECK(reasons_seen >= 8);
}

TEST_CASE("hostile: the fuzz target's input format runs random bytes without a failure") {
  base::Prng prng(0xF422);
  for (int i = 0; i < 300; ++i) {
    std::string input(static_cast<std::size_t>(prng.range(0, 600)), '\0');
    for (char& c : input) c = static_cast<char>(prng.below(256));
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(input.data());
    const auto failure = fuzz::run_peer_input(std::span(bytes, input.size()));
    REQUIRE_MESSAGE(!failure.has_value(), failure.value_or(""));
  }
}
