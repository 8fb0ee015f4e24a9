// encode_command / decode_command (peer.h): the LogCommand table of
// proto/peer.fbs <-> codec::LogCommand.
#include <utility>
#include <vector>

#include "proto/peer_generated.h"
#include "protocol/frame.h"
#include "server/codec/peer.h"

namespace synod::codec {

namespace detail = protocol::detail;

namespace {

using detail::Builder;
using detail::Reader;
namespace fb = flatbuffers;

struct WrittenCommand {
  proto::StoreCommand type = proto::StoreCommand::NONE;
  fb::Offset<void> value;
};

WrittenCommand write(Builder& fbb, const store::NoopCommand& c) {
  return {proto::StoreCommand::NoopCommand,
          proto::CreateNoopCommand(fbb, c.leader.round, c.leader.node.value()).Union()};
}

WrittenCommand write(Builder& fbb, const store::OpenSessionCommand& c) {
  return {proto::StoreCommand::OpenSessionCommand,
          proto::CreateOpenSessionCommand(fbb, c.timeout_ms, c.secret.high, c.secret.low).Union()};
}

WrittenCommand write(Builder& fbb, const store::CloseSessionCommand& c) {
  return {proto::StoreCommand::CloseSessionCommand,
          proto::CreateCloseSessionCommand(fbb, c.session.value()).Union()};
}

WrittenCommand write(Builder& fbb, const store::ExpireSessionsCommand& c) {
  std::vector<std::uint64_t> raw;
  raw.reserve(c.sessions.size());
  for (SessionId s : c.sessions) raw.push_back(s.value());
  const auto sessions = fbb.CreateVector(raw);
  return {
      proto::StoreCommand::ExpireSessionsCommand,
      proto::CreateExpireSessionsCommand(fbb, sessions, c.proposer.round, c.proposer.node.value())
          .Union()};
}

WrittenCommand write(Builder& fbb, const store::RemoveExpiredTtlCommand& c) {
  std::vector<fb::Offset<fb::String>> paths;
  paths.reserve(c.paths.size());
  for (const protocol::Path& p : c.paths) paths.push_back(fbb.CreateString(p.text()));
  const auto vector = fbb.CreateVector(paths);
  return {proto::StoreCommand::RemoveExpiredTtlCommand,
          proto::CreateRemoveExpiredTtlCommand(fbb, vector).Union()};
}

WrittenCommand write(Builder& fbb, const store::WriteCommand& c) {
  const auto fence = detail::write_fence(fbb, c.fence);
  const detail::WrittenOp op = detail::write_op(fbb, c.op);
  return {proto::StoreCommand::WriteCommand,
          proto::CreateWriteCommand(fbb, c.session.value(), fence, op.type, op.value).Union()};
}

WrittenCommand write(Builder& fbb, const store::MultiCommand& c) {
  const auto fence = detail::write_fence(fbb, c.fence);
  const auto ops = detail::write_multi_ops(fbb, c.ops);
  return {proto::StoreCommand::MultiCommand,
          proto::CreateMultiCommand(fbb, c.session.value(), fence, ops).Union()};
}

WrittenCommand write(Builder& fbb, const store::MoveSessionCommand& c) {
  return {
      proto::StoreCommand::MoveSessionCommand,
      proto::CreateMoveSessionCommand(fbb, c.session.value(), c.to.value(), c.at.value()).Union()};
}

store::Command read(Reader&, const proto::NoopCommand& c) {
  return store::NoopCommand{Ballot{c.leader_round(), NodeId{c.leader_node()}}};
}

store::Command read(Reader&, const proto::OpenSessionCommand& c) {
  return store::OpenSessionCommand{c.timeout_ms(), SessionSecret{c.secret_high(), c.secret_low()}};
}

store::Command read(Reader&, const proto::CloseSessionCommand& c) {
  return store::CloseSessionCommand{SessionId{c.session()}};
}

store::Command read(Reader& r, const proto::ExpireSessionsCommand& c) {
  store::ExpireSessionsCommand out;
  out.proposer = Ballot{c.proposer_round(), NodeId{c.proposer_node()}};
  if (c.sessions() == nullptr) return out;
  if (c.sessions()->size() > store::expire_sessions_max) {
    r.fail("an expiry of " + std::to_string(c.sessions()->size()) +
           " sessions exceeds expire_sessions_max");
    return out;
  }
  out.sessions.reserve(c.sessions()->size());
  for (fb::uoffset_t i = 0; i < c.sessions()->size(); ++i) {
    out.sessions.push_back(SessionId{detail::load_element<std::uint64_t>(*c.sessions(), i)});
  }
  return out;
}

store::Command read(Reader& r, const proto::RemoveExpiredTtlCommand& c) {
  store::RemoveExpiredTtlCommand out;
  if (c.paths() == nullptr) return out;
  if (c.paths()->size() > store::ttl_removals_max) {
    r.fail("a TTL removal of " + std::to_string(c.paths()->size()) +
           " paths exceeds ttl_removals_max");
    return out;
  }
  out.paths.reserve(c.paths()->size());
  for (const fb::String* p : *c.paths()) {
    if (!r.ok()) break;
    out.paths.push_back(r.path(p, "TTL node path"));
  }
  return out;
}

store::Command read(Reader& r, const proto::WriteCommand& c) {
  store::WriteCommand out;
  out.session = SessionId{c.session()};
  out.fence = r.fence(c.fence());
  out.op = r.op(c.op_type(), c.op());
  return out;
}

store::Command read(Reader& r, const proto::MultiCommand& c) {
  store::MultiCommand out;
  out.session = SessionId{c.session()};
  out.fence = r.fence(c.fence());
  out.ops = r.multi_ops(c.ops());
  return out;
}

store::Command read(Reader& r, const proto::MoveSessionCommand& c) {
  if (c.session() == 0 || c.to() == 0) r.fail("a session move names no session or no server");
  return store::MoveSessionCommand{SessionId{c.session()}, NodeId{c.to()}, Zxid{c.at()}};
}

template <class T>
store::Command read_as(Reader& r, const void* value) {
  if (!r.present(value, "command body")) return store::NoopCommand{};
  return read(r, *static_cast<const T*>(value));
}

store::Command read_command(Reader& r, const proto::LogCommand& c) {
  const void* v = c.command();
  switch (c.command_type()) {
    case proto::StoreCommand::NoopCommand: return read_as<proto::NoopCommand>(r, v);
    case proto::StoreCommand::OpenSessionCommand: return read_as<proto::OpenSessionCommand>(r, v);
    case proto::StoreCommand::CloseSessionCommand:
      return read_as<proto::CloseSessionCommand>(r, v);
    case proto::StoreCommand::ExpireSessionsCommand:
      return read_as<proto::ExpireSessionsCommand>(r, v);
    case proto::StoreCommand::RemoveExpiredTtlCommand:
      return read_as<proto::RemoveExpiredTtlCommand>(r, v);
    case proto::StoreCommand::WriteCommand: return read_as<proto::WriteCommand>(r, v);
    case proto::StoreCommand::MultiCommand: return read_as<proto::MultiCommand>(r, v);
    case proto::StoreCommand::MoveSessionCommand: return read_as<proto::MoveSessionCommand>(r, v);
    case proto::StoreCommand::NONE: r.fail("the entry holds no command"); return {};
  }
  r.fail("command kind " + std::to_string(static_cast<unsigned>(c.command_type())) +
         " is unknown (a newer leader?)");
  return {};
}

}  // namespace

std::string encode_command(const LogCommand& value) {
  Builder fbb(256);
  const WrittenCommand written =
      std::visit([&](const auto& c) { return write(fbb, c); }, value.command);
  fbb.Finish(proto::CreateLogCommand(fbb, value.time_ms, value.session.value(), value.sequence,
                                     written.type, written.value));
  return detail::finish_bytes(fbb);
}

Result<LogCommand> decode_command(std::string_view bytes) {
  if (Status size = detail::check_frame_size(bytes, "log command"); !size.ok()) return size;
  const detail::AlignedBytes aligned(bytes);
  Reader r("log command");
  if (!detail::verify_root<proto::LogCommand>(aligned)) {
    r.fail("the FlatBuffers verifier rejected " + std::to_string(bytes.size()) + " bytes");
    return r.status();
  }
  const auto* c = fb::GetRoot<proto::LogCommand>(aligned.data());
  LogCommand out;
  out.time_ms = c->time_ms();
  if (out.time_ms < 0 || out.time_ms > store::log_time_ms_max) {
    r.fail("log time " + std::to_string(out.time_ms) + " ms is outside [0, log_time_ms_max]");
  }
  out.session = SessionId{c->session()};
  out.sequence = c->sequence();
  out.command = read_command(r, *c);
  if (!r.ok()) return r.status();
  return out;
}

}  // namespace synod::codec
