#include <doctest/doctest.h>

#include <vector>

#include "base/prng.h"
#include "consensus/quorum.h"
#include "consensus/types.h"

using namespace synod;
using namespace synod::consensus;

namespace {
// The dumb twin: the highest value v such that at least `quorum` matches
// are >= v, by trying every candidate.
Slot naive_quorum_slot(const std::vector<Slot>& matches, std::size_t quorum) {
  Slot best{0};
  for (Slot candidate : matches) {
    std::size_t reached = 0;
    for (Slot m : matches) {
      if (m >= candidate) ++reached;
    }
    if (reached >= quorum && candidate > best) best = candidate;
  }
  return best;
}
}  // namespace

TEST_CASE("quorum: quorum_slot agrees with a naive count on 50,000 random inputs") {
  base::Prng prng(2026);
  for (int round = 0; round < 50000; ++round) {
    const auto voters = static_cast<std::size_t>(prng.range(0, 7));
    std::vector<Slot> matches;
    for (std::size_t i = 0; i < voters; ++i) matches.push_back(Slot{prng.range(0, 20)});
    const auto quorum = static_cast<std::size_t>(prng.range(1, 7));
    REQUIRE(quorum_slot(matches, quorum) == naive_quorum_slot(matches, quorum));
  }
}

TEST_CASE("quorum: a majority of 3, 5 and 7 voters is 2, 3 and 4") {
  Configuration config;
  for (std::uint32_t n = 1; n <= 7; ++n) {
    config.voters.push_back(NodeId{n});
    if (n == 3) CHECK(config.quorum() == 2);
    if (n == 5) CHECK(config.quorum() == 3);
    if (n == 7) CHECK(config.quorum() == 4);
  }
}

TEST_CASE("configuration: validity and the distance between voter sets") {
  Configuration a{{NodeId{1}, NodeId{2}, NodeId{3}}, {NodeId{4}}};
  Configuration b{{NodeId{1}, NodeId{2}, NodeId{3}, NodeId{4}}, {}};
  Configuration c{{NodeId{1}, NodeId{2}, NodeId{4}, NodeId{5}}, {}};
  CHECK(a.valid());
  CHECK(b.valid());
  CHECK(voter_distance(a, b) == 1);
  CHECK(voter_distance(a, c) == 3);
  CHECK_FALSE(Configuration{{NodeId{2}, NodeId{1}}, {}}.valid());
  CHECK_FALSE(Configuration{{NodeId{1}}, {NodeId{1}}}.valid());
}
