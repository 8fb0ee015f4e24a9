#include "random_values.h"

#include <algorithm>
#include <vector>

#include "proto/client_generated.h"

namespace synod::codec::test {
namespace {

std::uint64_t any_u64(base::Prng& prng) {
  // Favour edges: 0, 1, small, huge.
  switch (prng.below(4)) {
    case 0: return prng.below(3);
    case 1: return prng.below(1000);
    case 2: return ~std::uint64_t{0} - prng.below(3);
    default: return prng.next_u64();
  }
}

Ballot random_ballot(base::Prng& prng) {
  return Ballot{any_u64(prng), NodeId{static_cast<std::uint32_t>(prng.range(0, node_id_max))}};
}
Slot random_slot(base::Prng& prng) { return Slot{any_u64(prng)}; }

consensus::Configuration random_config(base::Prng& prng) {
  std::vector<NodeId> ids;
  const auto count = prng.below(9);
  for (std::uint64_t i = 0; i < count; ++i) {
    ids.push_back(NodeId{static_cast<std::uint32_t>(prng.range(1, node_id_max))});
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  consensus::Configuration config;
  for (NodeId id : ids) (prng.chance(1, 3) ? config.learners : config.voters).push_back(id);
  return config;
}

consensus::Entry random_entry(base::Prng& prng) {
  switch (prng.below(3)) {
    case 0: return consensus::Entry::noop();
    case 1: return consensus::Entry::command(random_bytes(prng, 64));
    default:
      return consensus::Entry::reconfig(random_config(prng),
                                        prng.chance(1, 2) ? random_bytes(prng, 64) : "");
  }
}

std::optional<std::int32_t> random_version(base::Prng& prng) {
  if (prng.chance(1, 2)) return std::nullopt;
  return static_cast<std::int32_t>(prng.next_u64());
}

std::optional<protocol::Fence> random_fence(base::Prng& prng) {
  if (prng.chance(1, 2)) return std::nullopt;
  return protocol::Fence{random_path(prng), Zxid{any_u64(prng)}};
}

protocol::CreateOp random_create(base::Prng& prng) {
  protocol::CreateOp op;
  op.path = random_path(prng);
  op.data = random_bytes(prng, 48);
  op.kind = static_cast<protocol::NodeKind>(prng.range(0, protocol::node_kind_last));
  op.sequential = prng.chance(1, 2);
  op.ttl_ms = op.kind == protocol::NodeKind::ttl
                  ? static_cast<std::int64_t>(prng.range(1, protocol::ttl_ms_max))
                  : 0;
  op.parents = static_cast<protocol::MissingParents>(prng.below(3));
  return op;
}

protocol::Op random_op(base::Prng& prng, bool allow_check) {
  switch (prng.below(allow_check ? 4 : 3)) {
    case 0: return random_create(prng);
    case 1: return protocol::DeleteOp{random_path(prng), random_version(prng)};
    case 2: return protocol::SetOp{random_path(prng), random_bytes(prng, 48), random_version(prng)};
    default: return protocol::CheckOp{random_path(prng), random_version(prng)};
  }
}

MultiRequest random_multi(base::Prng& prng) {
  MultiRequest m{random_fence(prng), {}};
  const auto count = prng.below(6);
  for (std::uint64_t i = 0; i < count; ++i) {
    m.ops.push_back(protocol::MultiOp{random_op(prng, true), random_fence(prng)});
  }
  return m;
}

protocol::Stat random_stat(base::Prng& prng) {
  protocol::Stat s;
  s.czxid = Zxid{any_u64(prng)};
  s.mzxid = Zxid{any_u64(prng)};
  s.pzxid = Zxid{any_u64(prng)};
  s.ctime_ms = static_cast<std::int64_t>(prng.next_u64());
  s.mtime_ms = static_cast<std::int64_t>(prng.next_u64());
  s.version = static_cast<std::int32_t>(prng.next_u64());
  s.cversion = static_cast<std::int32_t>(prng.next_u64());
  s.ephemeral_owner = SessionId{any_u64(prng)};
  s.num_children = static_cast<std::int32_t>(prng.next_u64());
  s.data_length = static_cast<std::int32_t>(prng.next_u64());
  return s;
}

}  // namespace

std::string random_bytes(base::Prng& prng, std::size_t max_bytes) {
  std::string out(static_cast<std::size_t>(prng.range(0, max_bytes)), '\0');
  for (char& c : out) c = static_cast<char>(prng.below(256));
  return out;
}

protocol::Path random_path(base::Prng& prng) {
  static constexpr std::string_view names[] = {"a", "lock", "n-0000000001", "é", "x y", "..."};
  std::string text;
  const auto depth = prng.below(4);
  for (std::uint64_t i = 0; i < depth; ++i) {
    text += "/";
    text += names[prng.below(std::size(names))];
  }
  auto parsed = protocol::Path::parse(text.empty() ? "/" : text);
  SYNOD_ASSERT(parsed.ok());
  return std::move(parsed).value();
}

consensus::Message random_message(base::Prng& prng) {
  switch (prng.below(std::variant_size_v<consensus::Message>)) {
    case 0: return consensus::PreVote{random_ballot(prng), random_slot(prng)};
    case 1:
      return consensus::PreVoteReply{random_ballot(prng), prng.chance(1, 2), random_ballot(prng)};
    case 2: return consensus::Prepare{random_ballot(prng), random_slot(prng), prng.chance(1, 2)};
    case 3: {
      consensus::Promise m{random_ballot(prng), random_slot(prng), prng.chance(1, 2),
                           random_ballot(prng), random_slot(prng), random_slot(prng), {}};
      const auto count = prng.below(5);
      for (std::uint64_t i = 0; i < count; ++i) {
        m.entries.push_back({random_slot(prng), random_ballot(prng), random_entry(prng),
                             prng.chance(1, 2)});
      }
      m.more_from = random_slot(prng);
      return m;
    }
    case 4: {
      consensus::Accept m{random_ballot(prng), random_slot(prng), {}, random_slot(prng),
                          any_u64(prng)};
      const auto count = prng.below(5);
      for (std::uint64_t i = 0; i < count; ++i) m.entries.push_back(random_entry(prng));
      return m;
    }
    case 5:
      return consensus::Accepted{random_ballot(prng), prng.chance(1, 2), random_ballot(prng),
                                 random_slot(prng),   random_slot(prng), prng.chance(1, 2),
                                 any_u64(prng)};
    case 6: {
      consensus::SnapshotChunk m{random_ballot(prng), random_slot(prng), random_config(prng),
                                 0, 0, random_bytes(prng, 64)};
      m.offset = prng.below(1u << 30);
      m.total_bytes = m.offset + m.data.size() + (prng.chance(1, 2) ? 0 : prng.below(1u << 20));
      return m;
    }
    case 7:
      return consensus::SnapshotAck{random_ballot(prng), prng.chance(1, 2), random_ballot(prng),
                                    random_slot(prng),   any_u64(prng),     prng.chance(1, 2)};
    case 8: return consensus::TimeoutNow{random_ballot(prng)};
    case 9: {
      consensus::Forward m;
      const auto count = prng.below(5);
      for (std::uint64_t i = 0; i < count; ++i) m.entries.push_back(random_entry(prng));
      return m;
    }
    case 10: {
      consensus::Touch m;
      const auto count = prng.below(5);
      for (std::uint64_t i = 0; i < count; ++i) m.sessions.push_back(any_u64(prng));
      return m;
    }
    case 11: {
      consensus::ReadIndex m{any_u64(prng), {}, any_u64(prng), prng.chance(1, 2)};
      const auto count = prng.below(5);
      for (std::uint64_t i = 0; i < count; ++i) m.sessions.push_back(any_u64(prng));
      return m;
    }
    default:
      return consensus::ReadIndexReply{any_u64(prng), prng.chance(1, 2), random_slot(prng),
                                       any_u64(prng)};
  }
}

store::Command random_command(base::Prng& prng) {
  switch (prng.below(8)) {
    case 0:
      return store::NoopCommand{
          Ballot{prng.below(1u << 20), NodeId{static_cast<std::uint32_t>(prng.below(8))}}};
    case 1:
      return store::OpenSessionCommand{
          static_cast<std::int64_t>(prng.range(1, protocol::session_timeout_ms_limit)),
          SessionSecret{any_u64(prng), any_u64(prng)}};
    case 2: return store::CloseSessionCommand{SessionId{any_u64(prng)}};
    case 3: {
      store::ExpireSessionsCommand c;
      c.proposer = Ballot{prng.below(1u << 20), NodeId{static_cast<std::uint32_t>(prng.below(8))}};
      const auto count = prng.below(6);
      for (std::uint64_t i = 0; i < count; ++i) c.sessions.push_back(SessionId{any_u64(prng)});
      return c;
    }
    case 4: {
      store::RemoveExpiredTtlCommand c;
      const auto count = prng.below(6);
      for (std::uint64_t i = 0; i < count; ++i) c.paths.push_back(random_path(prng));
      return c;
    }
    case 5:
      return store::WriteCommand{SessionId{any_u64(prng)}, random_fence(prng),
                                 random_op(prng, true)};
    case 6:
      return store::MoveSessionCommand{SessionId{prng.range(1, ~std::uint64_t{0})},
                                       NodeId{static_cast<std::uint32_t>(prng.range(1, 7))},
                                       Zxid{any_u64(prng)}};
    default: {
      MultiRequest m = random_multi(prng);
      return store::MultiCommand{SessionId{any_u64(prng)}, std::move(m.fence), std::move(m.ops)};
    }
  }
}

LogCommand random_log_command(base::Prng& prng) {
  return LogCommand{static_cast<std::int64_t>(prng.range(0, store::log_time_ms_max)),
                    SessionId{any_u64(prng)}, any_u64(prng), random_command(prng)};
}

ClientRequest random_client_request(base::Prng& prng) {
  ClientRequest r{any_u64(prng), KeepAliveRequest{}};
  const auto mode = static_cast<ReadMode>(prng.below(2));
  const auto kind = static_cast<WatchKind>(prng.range(1, 5));
  switch (prng.below(12)) {
    case 0: {
      OpenSessionRequest o{static_cast<std::int64_t>(prng.next_u64()), std::nullopt,
                           Zxid{any_u64(prng)}};
      if (prng.chance(1, 2)) o.previous = SessionId{any_u64(prng)};
      o.secret = SessionSecret{any_u64(prng), any_u64(prng)};
      r.body = o;
      break;
    }
    case 1: r.body = KeepAliveRequest{}; break;
    case 2: r.body = CloseSessionRequest{}; break;
    case 3: r.body = WriteRequest{random_fence(prng), random_op(prng, false)}; break;
    case 4: r.body = GetRequest{random_path(prng), prng.chance(1, 2), mode}; break;
    case 5: r.body = ExistsRequest{random_path(prng), prng.chance(1, 2), mode}; break;
    case 6:
      r.body =
          ChildrenRequest{random_path(prng), prng.chance(1, 2), mode, random_bytes(prng, 8),
                          static_cast<std::uint32_t>(prng.range(1, protocol::children_page_max))};
      break;
    case 7: r.body = random_multi(prng); break;
    case 8: r.body = SyncRequest{}; break;
    case 9:
      r.body = CheckFenceRequest{protocol::Fence{random_path(prng), Zxid{any_u64(prng)}}};
      break;
    case 10: {
      SetWatchRequest w{random_path(prng), kind, std::nullopt};
      if (prng.chance(1, 2)) w.from_zxid = Zxid{any_u64(prng)};
      r.body = w;
      break;
    }
    default: r.body = RemoveWatchRequest{random_path(prng), kind}; break;
  }
  return r;
}

ServerMessage random_server_message(base::Prng& prng) {
  switch (prng.below(3)) {
    case 0: {
      protocol::Event e{static_cast<protocol::EventType>(prng.range(1, 4)),
                        random_path(prng).text(), Zxid{any_u64(prng)}};
      return WatchEvent{e, random_path(prng), static_cast<WatchKind>(prng.range(1, 5))};
    }
    case 1:
      return SessionEvent{static_cast<SessionState>(prng.below(4)), SessionId{any_u64(prng)},
                          random_bytes(prng, 16)};
    default: break;
  }
  Response r{any_u64(prng), Zxid{any_u64(prng)}, {}, std::monostate{}};
  r.status.error =
      static_cast<protocol::Error>(prng.range(0, static_cast<std::uint64_t>(protocol::error_last)));
  if (!r.status.ok()) r.status.message = "because " + random_path(prng).text();
  switch (prng.below(8)) {
    case 0: break;
    case 1: r.body = StatResult{random_stat(prng)}; break;
    case 2:
      r.body = DataResult{random_bytes(prng, 64), random_stat(prng),
                          static_cast<protocol::NodeKind>(prng.below(4)),
                          static_cast<std::int64_t>(prng.next_u64())};
      break;
    case 3: {
      ChildrenResult c;
      const auto count = prng.below(5);
      for (std::uint64_t i = 0; i < count; ++i) {
        c.entries.push_back(protocol::ChildEntry{random_bytes(prng, 12), random_stat(prng)});
      }
      if (prng.chance(1, 2)) c.next_after = random_bytes(prng, 12);
      r.body = c;
      break;
    }
    case 4: r.body = CreateResult{random_path(prng).text(), random_stat(prng)}; break;
    case 5: {
      MultiResult m;
      const auto count = prng.below(5);
      for (std::uint64_t i = 0; i < count; ++i) {
        protocol::OpResult op{static_cast<protocol::Error>(prng.below(20)),
                              random_path(prng).text(), std::nullopt};
        if (prng.chance(1, 2)) op.stat = random_stat(prng);
        m.results.push_back(op);
      }
      r.body = m;
      break;
    }
    case 6:
      r.body = SessionResult{SessionId{any_u64(prng)}, static_cast<std::int64_t>(prng.next_u64()),
                             static_cast<std::int64_t>(prng.next_u64()),
                             SessionSecret{any_u64(prng), any_u64(prng)}};
      break;
    default: r.body = FenceResult{Zxid{any_u64(prng)}}; break;
  }
  return r;
}

}  // namespace synod::codec::test
