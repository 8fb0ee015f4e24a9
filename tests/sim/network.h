// Network: the simulator's packets between replicas. Every message may be
// dropped, duplicated and delayed (hence reordered); partitions cut links
// symmetrically, one way, or around the leader, each for a random stretch.
// Deterministic: every choice comes from the Prng passed in.
//
// One exception to reordering: a Forward (client writes on their way to the
// leader) never overtakes an earlier Forward on the same link. In synodd a
// peer link is one TCP stream, so that is what the runtime gives, and a
// session's writes keep their order only if their forwards do (consensus
// messages are reordered freely: the protocol must not depend on TCP).
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <queue>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "base/prng.h"
#include "consensus/message.h"
#include "tests/sim/options.h"

namespace synod::sim {

class Network {
 public:
  explicit Network(const SimOptions& options) : options_(options) {}

  // Queues `envelope`; with faults on it may be dropped or duplicated.
  void send(const consensus::Envelope& envelope, std::uint64_t now, bool faults,
            base::Prng& prng) {
    ++sent_;
    if (faults && prng.chance_permille(options_.drop_permille)) return;
    const int copies = faults && prng.chance_permille(options_.duplicate_permille) ? 2 : 1;
    const bool fifo = std::holds_alternative<consensus::Forward>(envelope.message);
    for (int i = 0; i < copies; ++i) {
      const std::uint64_t delay = prng.range(options_.delay_ticks_min, options_.delay_ticks_max);
      std::uint64_t at = now + std::max<std::uint64_t>(delay, 1);
      if (fifo) {
        std::uint64_t& last = fifo_last_tick_[{envelope.from, envelope.to}];
        at = std::max(at, last);
        last = at;
      }
      packets_.push(Packet{at, sequence_++, envelope});
    }
  }

  // The next packet due by `now` whose link is not cut, if any; packets on
  // cut links are dropped on the way.
  std::optional<consensus::Envelope> next_due(std::uint64_t now) {
    while (!packets_.empty() && packets_.top().deliver_tick <= now) {
      Packet packet = packets_.top();
      packets_.pop();
      if (!blocked(packet.envelope.from, packet.envelope.to)) return std::move(packet.envelope);
    }
    return std::nullopt;
  }

  // Ends an expired partition, or maybe starts one over `ids`. Returns a
  // sentence when something changed.
  std::optional<std::string> schedule(std::uint64_t now, std::vector<NodeId> ids,
                                      std::optional<NodeId> leader, base::Prng& prng) {
    if (!blocked_.empty() && now >= partition_until_) {
      blocked_.clear();
      return "the network heals";
    }
    if (!blocked_.empty() || ids.size() < 2 ||
        !prng.chance_permille(options_.partition_permille)) {
      return std::nullopt;
    }
    prng.shuffle(std::span<NodeId>(ids));
    std::string what;
    const std::uint64_t mode = prng.below(3);
    if (mode == 0) {
      const auto split = static_cast<std::size_t>(prng.range(1, ids.size() - 1));
      for (std::size_t i = 0; i < split; ++i) {
        for (std::size_t j = split; j < ids.size(); ++j) cut_both(ids[i], ids[j]);
      }
      what = "partition: " + std::to_string(split) + " node(s) cut off from the rest";
    } else if (mode == 1) {
      const auto pairs = prng.range(1, ids.size());
      for (std::uint64_t i = 0; i < pairs; ++i) {
        const NodeId a = prng.pick(std::span<NodeId>(ids));
        const NodeId b = prng.pick(std::span<NodeId>(ids));
        if (a != b) blocked_.insert({a, b});
      }
      what = "partition: " + std::to_string(blocked_.size()) + " one-way link(s) cut";
    } else if (leader) {
      for (NodeId other : ids) {
        if (other != *leader) cut_both(*leader, other);
      }
      what = "partition: leader " + std::to_string(leader->value()) + " isolated";
    } else {
      return std::nullopt;
    }
    partition_until_ = now + prng.range(1, options_.partition_ticks_max);
    return what;
  }

  void heal() { blocked_.clear(); }
  // A scripted cut (tests/sim/scenarios): messages from -> to are lost until
  // heal(); the drawn schedule never ends it.
  void cut(NodeId from, NodeId to) {
    blocked_.insert({from, to});
    partition_until_ = std::numeric_limits<std::uint64_t>::max();
  }
  [[nodiscard]] bool blocked(NodeId from, NodeId to) const { return blocked_.contains({from, to}); }
  [[nodiscard]] std::uint64_t sent() const { return sent_; }

 private:
  struct Packet {
    std::uint64_t deliver_tick;
    std::uint64_t sequence;
    consensus::Envelope envelope;
    bool operator>(const Packet& other) const {
      return deliver_tick != other.deliver_tick ? deliver_tick > other.deliver_tick
                                                : sequence > other.sequence;
    }
  };
  void cut_both(NodeId a, NodeId b) {
    blocked_.insert({a, b});
    blocked_.insert({b, a});
  }

  const SimOptions& options_;
  std::priority_queue<Packet, std::vector<Packet>, std::greater<>> packets_;
  std::uint64_t sequence_ = 0;
  std::set<std::pair<NodeId, NodeId>> blocked_;
  std::uint64_t partition_until_ = 0;
  std::uint64_t sent_ = 0;
  std::map<std::pair<NodeId, NodeId>, std::uint64_t> fifo_last_tick_;
};

}  // namespace synod::sim
