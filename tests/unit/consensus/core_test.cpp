// Scenario tests for the consensus core on a perfect, in-order network where
// every write is durable at once. The simulator (tests/sim) covers faults.
#include <doctest/doctest.h>

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
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

// The sum of entry_wire_bytes of the entries an Accept, a Promise page or a
// Forward carries; 0 for every other message.
std::size_t entries_wire_bytes(const Message& message) {
  std::size_t bytes = 0;
  if (const auto* a = std::get_if<Accept>(&message)) {
    for (const Entry& e : a->entries) bytes += entry_wire_bytes(e);
  } else if (const auto* p = std::get_if<Promise>(&message)) {
    for (const PromiseEntry& pe : p->entries) bytes += entry_wire_bytes(pe.entry);
  } else if (const auto* f = std::get_if<Forward>(&message)) {
    for (const Entry& e : f->entries) bytes += entry_wire_bytes(e);
  }
  return bytes;
}

std::size_t entry_count(const Message& message) {
  if (const auto* a = std::get_if<Accept>(&message)) return a->entries.size();
  if (const auto* p = std::get_if<Promise>(&message)) return p->entries.size();
  if (const auto* f = std::get_if<Forward>(&message)) return f->entries.size();
  return 0;
}

class Harness {
 public:
  // Every node starts from `logs[id]` (accepted records, no promise beyond
  // their ballots), and batches by `accept_bytes_max`.
  explicit Harness(std::uint32_t voters, std::uint32_t accept_bytes_max = 4 << 20,
                   std::map<std::uint32_t, std::vector<AcceptedRecord>> logs = {})
      : accept_bytes_max_(accept_bytes_max), logs_(std::move(logs)) {
    for (std::uint32_t i = 1; i <= voters; ++i) initial_.voters.push_back(NodeId{i});
    for (std::uint32_t i = 1; i <= voters; ++i) add(NodeId{i}, initial_);
  }

  void add(NodeId id, const Configuration& config) {
    auto node = std::make_unique<Node>(Node{base::Prng(id.value()), nullptr, {}, {}});
    Durable durable{{}, Snapshot{Slot{0}, config, data()}, logs_[id.value()], {}};
    for (const AcceptedRecord& r : durable.log)
      durable.promised = std::max(durable.promised, r.ballot);
    node->core = std::make_unique<Core>(options(id), std::move(durable), node->prng);
    nodes_[id] = std::move(node);
  }

  Options options(NodeId id) const {
    Options o;
    o.self = id;
    o.election_ticks = 10;
    o.heartbeat_ticks = 2;
    o.accept_bytes_max = accept_bytes_max_;
    return o;
  }

  // Every message with entries keeps within accept_bytes_max, or holds one.
  void check_bound(const Envelope& e) const {
    const std::size_t bytes = entries_wire_bytes(e.message);
    REQUIRE_MESSAGE((entry_count(e.message) <= 1 || bytes <= accept_bytes_max_),
                    message_name(e.message) << " from node " << e.from.value() << " carries "
                                            << bytes << " bytes of entries");
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
          for (auto* batch : {&out.send_now, &out.send_after_persist}) {
            for (auto& e : *batch) {
              check_bound(e);
              wire_.push_back(e);
            }
          }
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
            cut_.contains(e.from) || (drop_ && drop_(e))) {
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

  // Restarts a node from what it wrote, with a fresh Prng seed (a new life).
  void restart(std::uint32_t id, std::uint64_t seed) {
    Node& n = node(id);
    Durable d;
    d.snapshot = Snapshot{Slot{0}, initial_, data()};
    std::map<Slot, AcceptedRecord> log;
    for (const auto& b : n.disk) {
      if (b.promised) d.promised = std::max(d.promised, *b.promised);
      for (const auto& r : b.accepted) log[r.slot] = r;
    }
    for (auto& [slot, r] : log) d.log.push_back(r);
    n.prng = base::Prng(seed);
    n.core = std::make_unique<Core>(options(NodeId{id}), std::move(d), n.prng);
    n.applied.clear();
  }

  std::set<NodeId> cut_;
  // Messages for which this returns true are lost.
  std::function<bool(const Envelope&)> drop_;

 private:
  std::uint32_t accept_bytes_max_;
  std::map<std::uint32_t, std::vector<AcceptedRecord>> logs_;
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

TEST_CASE("reconfiguration: the owner's data rides in the configuration entry to every member") {
  Harness h(3);
  const NodeId leader = h.elect();
  h.tick(3);
  h.add(NodeId{4}, Configuration{});
  CHECK(h.core(leader.value())
            .change_membership({MembershipChange::Op::add_learner, NodeId{4}}, "who asked")
            .empty());
  h.tick(20);
  for (std::uint32_t id = 1; id <= 4; ++id) {
    CAPTURE(id);
    const auto& applied = h.node(id).applied;
    const auto added = std::find_if(applied.begin(), applied.end(), [](const ChosenEntry& c) {
      return c.entry.kind == EntryKind::config && c.entry.config.is_learner(NodeId{4});
    });
    REQUIRE(added != applied.end());
    CHECK(added->entry.data == "who asked");
  }
  // Too large for an entry: refused, nothing proposed.
  CHECK(h.core(leader.value())
            .change_membership({MembershipChange::Op::remove, NodeId{4}},
                               std::string(command_bytes_max + 1, 'x')) ==
        "the change's data is over command_bytes_max");
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

TEST_CASE("status: the leader reports each member's acknowledged slot and how long it was silent") {
  Harness h(3);
  const NodeId leader = h.elect();
  h.tick(3);
  const NodeId quiet{leader.value() % 3 + 1};
  CHECK(h.core(quiet.value()).status().progress.empty());  // a follower cannot know
  h.cut_.insert(quiet);
  REQUIRE(h.core(leader.value()).propose({Entry::command("x")}).kind ==
          ProposeResult::Kind::accepted);
  h.tick(4);
  const Status s = h.core(leader.value()).status();
  REQUIRE(s.progress.size() == 2);
  for (const MemberProgress& p : s.progress) {
    CHECK(p.id != leader);
    if (p.id == quiet) {
      CHECK(p.match < s.chosen);   // it missed the command
      CHECK(p.silent_ticks >= 4);  // and every heartbeat since the cut
    } else {
      CHECK(p.match == s.chosen);
      CHECK(p.silent_ticks <= 2);  // it answers each heartbeat
    }
  }
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

namespace {

// Ten 1000-byte commands accepted at ballot (1,3) and never chosen: more
// than three pages of 3000 bytes (each entry counts entry_wire_bytes).
std::vector<AcceptedRecord> unchosen_tail() {
  std::vector<AcceptedRecord> log;
  for (std::uint64_t s = 1; s <= 10; ++s) {
    log.push_back({Slot{s}, Ballot{1, NodeId{3}},
                   Entry::command(std::to_string(s) + std::string(1000, 'v'))});
  }
  return log;
}

std::vector<std::string> tail_commands() {
  std::vector<std::string> out;
  for (const AcceptedRecord& r : unchosen_tail()) out.push_back(r.entry.data);
  return out;
}

}  // namespace

TEST_CASE(
    "promise: a Prepare over more than a page of values is answered in bounded pages "
    "that chain from its slot to the log end") {
  Harness h(3, 3000, {{2, unchosen_tail()}});
  Core& acceptor = h.core(2);
  acceptor.step(NodeId{1}, Prepare{Ballot{5, NodeId{1}}, Slot{1}, false});
  const Output out = acceptor.take_output();
  std::vector<std::string> values;
  std::size_t pages = 0;
  for (const Envelope& e : out.send_after_persist) {
    const auto& page = std::get<Promise>(e.message);
    CHECK(page.granted);
    CHECK(entries_wire_bytes(page) <= 3000);
    for (const PromiseEntry& pe : page.entries) values.push_back(pe.entry.data);
    ++pages;
  }
  CHECK(pages >= 4);
  CHECK(values == tail_commands());
}

TEST_CASE(
    "election: a candidate counts a paged promise only once every page arrived, then "
    "re-proposes every value it reported") {
  Harness h(3, 3000, {{2, unchosen_tail()}, {3, unchosen_tail()}});
  h.cut_.insert(NodeId{3});
  // The first continuation page node 2 sends is lost once; the candidate
  // must ask for it again before it may win.
  bool dropped = false;
  h.drop_ = [&](const Envelope& e) {
    const auto* p = std::get_if<Promise>(&e.message);
    if (dropped || p == nullptr || p->from == Slot{1} || !p->granted) return false;
    dropped = true;
    return true;
  };
  const NodeId leader = h.elect();
  CHECK(dropped);
  REQUIRE(leader == NodeId{1});
  h.tick(10);
  CHECK(commands(h.node(1)) == tail_commands());
  CHECK(commands(h.node(2)) == tail_commands());
}

TEST_CASE("accept: an Accept holds at most accept_bytes_max of entries, or a single entry") {
  Harness h(3, 3000);
  const NodeId leader = h.elect();
  // 2000 + 2000 bytes: the old rule (add while under the budget) put both in
  // one Accept; the drain checks every message's bytes.
  const auto result =
      h.core(leader.value())
          .propose({Entry::command(std::string(2000, 'a')), Entry::command(std::string(2000, 'b')),
                    Entry::command(std::string(5000, 'c'))});
  REQUIRE(result.kind == ProposeResult::Kind::accepted);
  h.tick(5);
  for (std::uint32_t id = 1; id <= 3; ++id) CHECK(commands(h.node(id)).size() == 3);
}

TEST_CASE("propose: an entry that cannot fit a message is refused as too_large") {
  Harness h(3);
  const NodeId leader = h.elect();
  const Slot end = h.core(leader.value()).log_end();
  const auto result = h.core(leader.value())
                          .propose({Entry::command("small"),
                                    Entry::command(std::string(command_bytes_max + 1, 'x'))});
  CHECK(result.kind == ProposeResult::Kind::too_large);
  CHECK(h.core(leader.value()).log_end() == end);
}

TEST_CASE(
    "forward: a follower hands writes on in Forwards of at most accept_bytes_max, in "
    "order") {
  Harness h(3, 3000);
  const NodeId leader = h.elect();
  h.tick(3);
  const std::uint32_t follower = leader.value() % 3 + 1;
  std::vector<Entry> writes;
  for (int i = 0; i < 10; ++i)
    writes.push_back(Entry::command(std::to_string(i) + std::string(1000, 'w')));
  const std::vector<Entry> sent = writes;
  REQUIRE(h.core(follower).forward(std::move(writes)));
  const Output out = h.core(follower).take_output();
  std::vector<Entry> received;
  for (const Envelope& e : out.send_now) {
    h.check_bound(e);
    const auto& f = std::get<Forward>(e.message);
    received.insert(received.end(), f.entries.begin(), f.entries.end());
  }
  CHECK(out.send_now.size() >= 4);
  CHECK(received == sent);
}

TEST_CASE("read-index: a reply meant for an earlier life of a follower confirms nothing") {
  Harness h(3);
  const NodeId leader = h.elect();
  h.tick(3);
  const std::uint32_t follower = leader.value() % 3 + 1;
  // The leader's answer to the follower's read 1 is held back in the network.
  std::optional<Envelope> held;
  h.drop_ = [&](const Envelope& e) {
    if (!std::holds_alternative<ReadIndexReply>(e.message) || held) return false;
    held = e;
    return true;
  };
  h.core(follower).read_index(1);
  h.drain();
  REQUIRE(held.has_value());
  REQUIRE(std::get<ReadIndexReply>(held->message).ok);
  // The follower restarts and, as a new life, numbers its reads from 1 again.
  h.restart(follower, 777);
  h.drop_ = [](const Envelope&) { return true; };
  h.core(follower).read_index(1);
  (void)h.core(follower).take_output();
  h.core(follower).step(held->from, held->message);
  const Output out = h.core(follower).take_output();
  for (const ReadReady& ready : out.reads) CHECK_FALSE(ready.ok);
  CHECK(h.core(follower).rejected(Rejection::read_round) == 1);
}
