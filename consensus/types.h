// The values consensus agrees on: entries, configurations, snapshots, and the
// durable state an acceptor recovers from. See consensus/README.md.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/hash.h"
#include "base/ids.h"

namespace synod::consensus {

// Who votes and who only learns. Both lists are sorted, unique and disjoint.
// Any majority of one configuration intersects any majority of the next,
// because consecutive configurations differ by at most one voter
// (consensus/README.md §6).
struct Configuration {
  std::vector<NodeId> voters;
  std::vector<NodeId> learners;

  [[nodiscard]] bool is_voter(NodeId id) const {
    return std::binary_search(voters.begin(), voters.end(), id);
  }
  [[nodiscard]] bool is_learner(NodeId id) const {
    return std::binary_search(learners.begin(), learners.end(), id);
  }
  [[nodiscard]] bool is_member(NodeId id) const { return is_voter(id) || is_learner(id); }
  [[nodiscard]] std::size_t quorum() const { return voters.size() / 2 + 1; }
  [[nodiscard]] bool valid() const;
  bool operator==(const Configuration&) const = default;
};

// How many voters two configurations do not share (the symmetric difference).
[[nodiscard]] std::size_t voter_distance(const Configuration& a, const Configuration& b);
[[nodiscard]] std::string to_string(const Configuration& config);

enum class EntryKind : std::uint8_t {
  noop = 0,     // fills a gap or opens a leadership; applies as nothing
  command = 1,  // opaque bytes for the state machine
  config = 2,   // a new configuration; governs every later slot (README §6)
};

struct Entry {
  EntryKind kind = EntryKind::noop;
  // kind == command: the state machine's bytes. kind == config: optional
  // bytes the owner attached to the change (change_membership), opaque
  // here as a command's, and applied with the configuration.
  std::string data;
  Configuration config;  // kind == config

  static Entry noop() { return Entry{}; }
  static Entry command(std::string bytes) {
    return Entry{EntryKind::command, std::move(bytes), {}};
  }
  static Entry reconfig(Configuration c, std::string bytes = {}) {
    return Entry{EntryKind::config, std::move(bytes), std::move(c)};
  }
  bool operator==(const Entry&) const = default;
};

[[nodiscard]] std::uint64_t entry_hash(const Entry& entry);
// A known kind with only its own field set: a no-op carries nothing, a
// command no configuration, a config entry a valid() configuration (and
// perhaps the owner's bytes). What the core accepts from a peer.
[[nodiscard]] bool entry_well_formed(const Entry& entry);

// A value accepted by an acceptor at a ballot, as written to disk.
struct AcceptedRecord {
  Slot slot;
  Ballot ballot;
  Entry entry;
};

// The state machine at an applied slot, which replaces the log up to it.
// `data` is opaque to consensus and shared, never copied, between the core
// and the messages that carry it.
struct Snapshot {
  Slot slot{};              // every slot <= slot is covered
  Configuration config;     // the configuration governing slot + 1
  std::shared_ptr<const std::string> data;
};

// What an acceptor recovers after a restart: exactly what was durable. The
// log holds records after snapshot.slot in slot order, no gaps.
struct Durable {
  Ballot promised;
  Snapshot snapshot;
  std::vector<AcceptedRecord> log;
  Slot chosen{};  // a hint: every slot <= chosen in `log` holds its chosen value
};

}  // namespace synod::consensus
