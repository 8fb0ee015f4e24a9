// Scenario tests for the consensus core on a perfect, in-order network where
// every write is durable at once. The simulator (tests/sim) covers faults.
#include <doctest/doctest.h>

#include <deque>
#include <map>
#include <set>
#include <memory>
#include <vector>

#include "base/prng.h"
#include "consensus/core.h"
#include "consensus/invariants.h"

using namespace synod;
using namespace synod::consensus;

namespace {

struct Node {
  base::Prng prng;
  std::unique_ptr<Core> core;
  std::vector<ChosenEntry> applied;
  std::vector<PersistBatch> disk;
};

class Harness {
 public:
  explicit Harness(std::uint32_t voters) {
    for (std::uint32_t i = 1; i <= voters; ++i) initial_.voters.push_back(NodeId{i});
    for (std::uint32_t i = 1; i <= voters; ++i) add(NodeId{i}, initial_);
  }

  void add(NodeId id, const Configuration& config) {
    auto node = std::make_unique<Node>(Node{base::Prng(id.value()), nullptr, {}, {}});
    node->core = std::make_unique<Core>(options(id), Durable{{}, Snapshot{Slot{0}, config, data()}, {}, {}},
                                        node->prng);
    nodes_[id] = std::move(node);
  }

  Options options(NodeId id) const {
    Options o;
    o.self = id;
    o.election_ticks = 10;
    o.heartbeat_ticks = 2;
    return o;
  }

  static std::shared_ptr<const std::string> data() {
    return std::make_shared<const std::string>("state");
  }

  Core& core(std::uint32_t id) { return *nodes_.at(NodeId{id})->core; }
  Node& node(std::uint32_t id) { return *nodes_.at(NodeId{id}); }

  // Handles every output: persist (durable at once), send, apply.
  void drain() {
    bool progress = true;
    while (progress) {
      progress = false;
      for (auto& [id, node] : nodes_) {
        if (!node->core) continue;
        while (node->core->has_output()) {
          progress = true;
          Output out = node->core->take_output();
          if (!out.persist.empty()) node->disk.push_back(out.persist);
          for (auto& e : out.send_now) wire_.push_back(e);
          for (auto& e : out.send_after_persist) wire_.push_back(e);
          node->core->on_persisted(out.persist_token);
          for (auto& c : out.chosen) node->applied.push_back(c);
          REQUIRE_FALSE(check_basic(*node->core).has_value());
        }
      }
      while (!wire_.empty()) {
        progress = true;
        Envelope e = std::move(wire_.front());
        wire_.pop_front();
        auto it = nodes_.find(e.to);
        if (it == nodes_.end() || !it->second->core || cut_.contains(e.to) ||
            cut_.contains(e.from)) {
          continue;
        }
        it->second->core->step(e.from, e.message);
      }
    }
  }

  void tick(int times) {
    for (int i = 0; i < times; ++i) {
      for (auto& [id, node] : nodes_) {
        if (node->core && !cut_.contains(id)) node->core->tick();
      }
      drain();
    }
  }

  NodeId leader() {
    for (auto& [id, node] : nodes_) {
      if (node->core && node->core->is_leader() && !cut_.contains(id)) return id;
    }
    return no_node;
  }

  NodeId elect() {
    for (int i = 0; i < 200 && leader() == no_node; ++i) tick(1);
    REQUIRE(leader() != no_node);
    return leader();
  }

  std::set<NodeId> cut_;

 private:
  Configuration initial_;
  std::map<NodeId, std::unique_ptr<Node>> nodes_;
  std::deque<Envelope> wire_;
};

std::vector<std::string> commands(const Node& node) {
  std::vector<std::string> out;
  for (const auto& c : node.applied) {
    if (c.entry.kind == EntryKind::command) out.push_back(c.entry.data);
  }
  return out;
}

}  // namespace

TEST_CASE("election: three voters elect exactly one leader and choose its proposals in order") {
  Harness h(3);
  const NodeId leader = h.elect();
  const auto result = h.core(leader.value()).propose({Entry::command("a"), Entry::command("b")});
  REQUIRE(result.kind == ProposeResult::Kind::accepted);
  h.tick(5);
  int leaders = 0;
  for (std::uint32_t id = 1; id <= 3; ++id) {
    leaders += h.core(id).is_leader() ? 1 : 0;
    CHECK(commands(h.node(id)) == std::vector<std::string>{"a", "b"});
  }
  CHECK(leaders == 1);
}

TEST_CASE("propose: a follower answers not_leader with the leader's id") {
  Harness h(3);
  const NodeId leader = h.elect();
  h.tick(3);
  const std::uint32_t follower = leader.value() == 1 ? 2 : 1;
  const auto result = h.core(follower).propose({Entry::command("x")});
  CHECK(result.kind == ProposeResult::Kind::not_leader);
  CHECK(result.leader_hint == leader);
}

TEST_CASE("acceptor: a Prepare below the promise is refused and names the promise") {
  Harness h(3);
  const NodeId leader = h.elect();
  h.tick(3);
  const std::uint32_t follower = leader.value() == 1 ? 2 : 1;
  Core& core = h.core(follower);
  const Ballot promised = core.promised();
  core.step(NodeId{3}, Prepare{Ballot{0, NodeId{3}}, Slot{1}, false});
  Output out = core.take_output();
  REQUIRE(out.send_now.size() == 1);
  const auto& reply = std::get<Promise>(out.send_now.front().message);
  CHECK_FALSE(reply.granted);
  CHECK(reply.promised == promised);
}

TEST_CASE("stickiness: a follower that hears from a live leader refuses a higher ballot") {
  Harness h(3);
  const NodeId leader = h.elect();
  h.tick(3);
  const std::uint32_t follower = leader.value() == 1 ? 2 : 1;
  Core& core = h.core(follower);
  const Ballot before = core.promised();
  core.step(NodeId{3}, Prepare{Ballot{before.round + 5, NodeId{3}}, Slot{1}, false});
  CHECK(core.promised() == before);
  // A transfer is the leader's own request and is not refused.
  core.step(NodeId{3}, Prepare{Ballot{before.round + 5, NodeId{3}}, Slot{1}, true});
  CHECK(core.promised() == Ballot{before.round + 5, NodeId{3}});
}

TEST_CASE("recovery: a core rebuilt from its durable writes replays what it knew was chosen") {
  Harness h(3);
  const NodeId leader = h.elect();
  (void)h.core(leader.value()).propose({Entry::command("a"), Entry::command("b")});
  h.tick(5);
  Node& n = h.node(leader.value());
  Durable d;
  d.snapshot = Snapshot{Slot{0}, h.core(leader.value()).chosen_config(), Harness::data()};
  std::map<Slot, AcceptedRecord> log;
  for (const auto& b : n.disk) {
    if (b.promised) d.promised = std::max(d.promised, *b.promised);
    for (const auto& r : b.accepted) log[r.slot] = r;
    if (b.chosen) d.chosen = std::max(d.chosen, *b.chosen);
  }
  for (auto& [slot, r] : log) d.log.push_back(r);
  base::Prng prng(9);
  Core restarted(h.options(leader), d, prng);
  CHECK(restarted.promised() == h.core(leader.value()).promised());
  Output out = restarted.take_output();
  std::vector<std::string> replayed;
  for (auto& c : out.chosen) {
    if (c.entry.kind == EntryKind::command) replayed.push_back(c.entry.data);
  }
  CHECK(replayed == std::vector<std::string>{"a", "b"});
  CHECK_FALSE(restarted.is_leader());
}

TEST_CASE("transfer: the leader hands leadership to a caught-up voter") {
  Harness h(3);
  const NodeId leader = h.elect();
  h.tick(3);
  const NodeId target{leader.value() % 3 + 1};
  CHECK(h.core(leader.value()).transfer_leadership(target).empty());
  h.tick(5);
  CHECK(h.leader() == target);
  CHECK(h.core(target.value()).promised().node == target);
}

TEST_CASE("reconfiguration: one change at a time; a learner is promoted once caught up") {
  Harness h(3);
  const NodeId leader = h.elect();
  h.tick(3);
  h.add(NodeId{4}, Configuration{});
  Core& l = h.core(leader.value());
  CHECK(l.change_membership({MembershipChange::Op::add_learner, NodeId{4}}).empty());
  CHECK(l.change_membership({MembershipChange::Op::add_learner, NodeId{5}}) ==
        "another configuration change is still being chosen");
  h.tick(20);
  CHECK(l.chosen_config().is_voter(NodeId{4}));
  CHECK(h.core(4).chosen_config().is_voter(NodeId{4}));
}

TEST_CASE("reconfiguration: a leader that removes itself hands over and steps down") {
  Harness h(3);
  const NodeId leader = h.elect();
  h.tick(3);
  h.add(NodeId{4}, Configuration{});
  CHECK(h.core(leader.value()).change_membership({MembershipChange::Op::add_learner, NodeId{4}}).empty());
  h.tick(20);
  REQUIRE(h.core(leader.value()).chosen_config().voters.size() == 4);
  CHECK(h.core(leader.value()).change_membership({MembershipChange::Op::remove, leader}).empty());
  h.tick(30);
  const NodeId next_leader = h.leader();
  CHECK(next_leader != no_node);
  CHECK(next_leader != leader);
  CHECK_FALSE(h.core(next_leader.value()).chosen_config().is_member(leader));
}

TEST_CASE("check-quorum: a leader cut off from every peer steps down within an election timeout") {
  Harness h(3);
  const NodeId leader = h.elect();
  h.tick(3);
  for (std::uint32_t id = 1; id <= 3; ++id) {
    if (NodeId{id} != leader) h.cut_.insert(NodeId{id});
  }
  h.tick(25);
  CHECK_FALSE(h.core(leader.value()).is_leader());
}
