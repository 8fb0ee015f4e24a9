#include "consensus/types.h"

#include "base/assert.h"

namespace synod::consensus {

bool Configuration::valid() const {
  auto sorted_unique = [](const std::vector<NodeId>& ids) {
    return std::adjacent_find(ids.begin(), ids.end(),
                              [](NodeId a, NodeId b) { return !(a < b); }) == ids.end();
  };
  if (!sorted_unique(voters) || !sorted_unique(learners)) return false;
  for (NodeId learner : learners) {
    if (is_voter(learner)) return false;
  }
  for (NodeId id : voters) {
    if (id == no_node) return false;
  }
  return true;
}

std::size_t voter_distance(const Configuration& a, const Configuration& b) {
  std::vector<NodeId> diff;
  std::set_symmetric_difference(a.voters.begin(), a.voters.end(), b.voters.begin(),
                                b.voters.end(), std::back_inserter(diff));
  return diff.size();
}

std::string to_string(const Configuration& config) {
  std::string out = "voters {";
  for (std::size_t i = 0; i < config.voters.size(); ++i) {
    if (i > 0) out += ',';
    out += std::to_string(config.voters[i].value());  // appended: see base/ids.h to_string
  }
  out += "} learners {";
  for (std::size_t i = 0; i < config.learners.size(); ++i) {
    if (i > 0) out += ',';
    out += std::to_string(config.learners[i].value());
  }
  out += '}';
  return out;
}

std::uint64_t entry_hash(const Entry& entry) {
  base::Hash64 h;
  h.u64(static_cast<std::uint64_t>(entry.kind)).bytes(entry.data);
  for (NodeId id : entry.config.voters) h.u64(id.value());
  h.u64(0xFFFF'FFFF'FFFFull);
  for (NodeId id : entry.config.learners) h.u64(id.value());
  return h.finish();
}

bool entry_well_formed(const Entry& entry) {
  const bool no_config = entry.config.voters.empty() && entry.config.learners.empty();
  switch (entry.kind) {
    case EntryKind::noop: return entry.data.empty() && no_config;
    case EntryKind::command: return no_config;
    case EntryKind::config: return entry.config.valid();
  }
  return false;
}

}  // namespace synod::consensus
