// Read-index rounds, write forwarding and the session-liveness relay.
// consensus/README.md §11 and §12.
#include <algorithm>

#include "base/assert.h"
#include "consensus/core.h"

namespace synod::consensus {

void Core::read_index(std::uint64_t id, std::vector<std::uint64_t> sessions, bool vouches) {
  if (options_.canaries.stale_local_read) {
    output_.reads.push_back(ReadReady{id, true, chosen_});
    return;
  }
  SYNOD_ASSERT_MSG(sessions.size() <= sessions_per_message_max,
                   "a read-index round carries at most sessions_per_message_max sessions");
  if (auto* leader = std::get_if<Leader>(&role_)) {
    output_.touched.insert(output_.touched.end(), sessions.begin(), sessions.end());
    start_read(*leader, options_.self, id, read_nonce_, vouches);
    return;
  }
  if (leader_hint_ == no_node) {
    output_.reads.push_back(ReadReady{id, false, {}});
    return;
  }
  send(leader_hint_, ReadIndex{id, std::move(sessions), read_nonce_, vouches}, false);
}

// In Forwards of at most accept_bytes_max (and one entry at least), in
// order: the runtime's link keeps them in order (README §12).
bool Core::forward(std::vector<Entry> entries) {
  if (is_leader()) {
    for (Entry& e : entries) output_.forwarded.push_back(std::move(e));
    return true;
  }
  if (leader_hint_ == no_node) return false;
  Forward page;
  std::size_t bytes = 0;
  for (Entry& e : entries) {
    if (!entry_fits(e)) {
      note(node_name(options_.self) + " cannot forward a write of " +
           std::to_string(e.data.size()) + " bytes: over consensus::command_bytes_max");
      continue;
    }
    bytes += entry_wire_bytes(e);
    if (!page.entries.empty() && bytes > options_.accept_bytes_max) {
      send(leader_hint_, std::move(page), false);
      page = Forward{};
      bytes = entry_wire_bytes(e);
    }
    page.entries.push_back(std::move(e));
  }
  if (!page.entries.empty()) send(leader_hint_, std::move(page), false);
  return true;
}

bool Core::touch(std::vector<std::uint64_t> sessions) {
  if (is_leader()) {
    output_.touched.insert(output_.touched.end(), sessions.begin(), sessions.end());
    return true;
  }
  if (leader_hint_ == no_node) return false;
  for (std::size_t i = 0; i < sessions.size(); i += sessions_per_message_max) {
    const std::size_t end = std::min(sessions.size(), i + sessions_per_message_max);
    send(leader_hint_,
         Touch{std::vector<std::uint64_t>(sessions.begin() + static_cast<std::ptrdiff_t>(i),
                                          sessions.begin() + static_cast<std::ptrdiff_t>(end))},
         false);
  }
  return true;
}

void Core::on_forward(NodeId, const Forward& m) {
  if (!is_leader()) {
    ++ignored_messages_;
    return;
  }
  output_.forwarded.insert(output_.forwarded.end(), m.entries.begin(), m.entries.end());
}

void Core::on_touch(NodeId, const Touch& m) {
  if (!is_leader()) {
    ++ignored_messages_;
    return;
  }
  output_.touched.insert(output_.touched.end(), m.sessions.begin(), m.sessions.end());
}

void Core::on_read_index(NodeId from, const ReadIndex& m) {
  auto* leader = std::get_if<Leader>(&role_);
  if (leader == nullptr) {
    send(from, ReadIndexReply{m.id, false, {}, m.nonce}, false);
    return;
  }
  output_.touched.insert(output_.touched.end(), m.sessions.begin(), m.sessions.end());
  start_read(*leader, from, m.id, m.nonce, m.vouches);
}

// README §11: a reply carrying another life's nonce answers a request an
// earlier incarnation of this replica made, perhaps with the same id.
void Core::on_read_index_reply(NodeId from, const ReadIndexReply& m) {
  if (m.nonce != read_nonce_) {
    reject(from, "ReadIndexReply", Rejection::read_round);
    return;
  }
  output_.reads.push_back(ReadReady{m.id, m.ok, m.index});
}

// README §11: the read may be served at `index` once a quorum acknowledges a
// round that started after the request arrived, proving no newer leader had
// chosen anything by then. index is at least the leadership's opening no-op,
// so it covers everything chosen by earlier leaders. A vouching round's index
// also covers every slot proposed so far (README §12): an expiry already
// proposed is applied before a keep-alive is answered, which then says the
// session expired instead of vouching for it.
void Core::start_read(Leader& leader, NodeId requester, std::uint64_t id, std::uint64_t nonce,
                      bool vouches) {
  Slot index = std::max(chosen_, leader.first_own);
  if (vouches && !options_.canaries.vouch_below_proposed) index = std::max(index, log_end());
  leader.reads.push_back(PendingRead{++leader.read_seq, index, requester, id, nonce});
  for (auto& [peer, progress] : leader.peers) {
    if (latest_config().is_voter(peer) || chosen_config().is_voter(peer)) {
      maybe_send(leader, peer, true);
    }
  }
  maybe_release_reads();
}

void Core::maybe_release_reads() {
  auto& leader = std::get<Leader>(role_);
  if (leader.reads.empty()) return;
  const Configuration& config = chosen_config();
  std::vector<std::uint64_t> acked;
  for (NodeId voter : config.voters) {
    if (voter == options_.self) {
      acked.push_back(leader.read_seq);
    } else if (auto it = leader.peers.find(voter); it != leader.peers.end()) {
      acked.push_back(it->second.read_acked);
    } else {
      acked.push_back(0);
    }
  }
  if (acked.size() < config.quorum()) return;
  std::nth_element(acked.begin(), acked.begin() + static_cast<std::ptrdiff_t>(config.quorum() - 1),
                   acked.end(), std::greater<>());
  const std::uint64_t confirmed = acked[config.quorum() - 1];
  while (!leader.reads.empty() && leader.reads.front().seq <= confirmed &&
         leader.reads.front().index <= chosen_) {
    const PendingRead read = leader.reads.front();
    leader.reads.pop_front();
    answer_read(read, true);
  }
}

void Core::fail_reads(Leader& leader) {
  for (const PendingRead& read : leader.reads) answer_read(read, false);
  leader.reads.clear();
}

void Core::answer_read(const PendingRead& read, bool ok) {
  const Slot index = ok ? read.index : Slot{};
  if (read.requester == options_.self) {
    output_.reads.push_back(ReadReady{read.id, ok, index});
  } else {
    send(read.requester, ReadIndexReply{read.id, ok, index, read.nonce}, false);
  }
}

}  // namespace synod::consensus
