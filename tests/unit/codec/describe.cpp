#include "describe.h"

#include <variant>

namespace synod::codec::test {
namespace {

std::string num(std::uint64_t v) { return std::to_string(v); }
std::string num(std::int64_t v) { return std::to_string(v); }
std::string num(std::int32_t v) { return std::to_string(v); }
std::string num(bool v) { return v ? "true" : "false"; }
std::string b(Ballot x) { return to_string(x); }
std::string s(Slot x) { return num(x.value()); }
std::string bytes(const std::string& x) { return "'" + x + "'#" + num(std::uint64_t{x.size()}); }

std::string entry(const consensus::Entry& e) {
  return "Entry{" + num(std::uint64_t{static_cast<std::uint8_t>(e.kind)}) + "," + bytes(e.data) +
         "," + consensus::to_string(e.config) + "}";
}

struct MessageText {
  std::string operator()(const consensus::PreVote& m) const {
    return "PreVote{" + b(m.ballot) + "," + s(m.chosen) + "}";
  }
  std::string operator()(const consensus::PreVoteReply& m) const {
    return "PreVoteReply{" + b(m.ballot) + "," + num(m.granted) + "," + b(m.promised) + "}";
  }
  std::string operator()(const consensus::Prepare& m) const {
    return "Prepare{" + b(m.ballot) + "," + s(m.from) + "," + num(m.transfer) + "}";
  }
  std::string operator()(const consensus::Promise& m) const {
    std::string out = "Promise{" + b(m.ballot) + "," + s(m.from) + "," + num(m.granted) + "," +
                      b(m.promised) + "," + s(m.log_start) + "," + s(m.chosen) + ",[";
    for (const auto& pe : m.entries) {
      out += "(" + s(pe.slot) + "," + b(pe.ballot) + "," + entry(pe.entry) + "," +
             num(pe.chosen) + ")";
    }
    return out + "]," + s(m.more_from) + "}";
  }
  std::string operator()(const consensus::Accept& m) const {
    std::string out = "Accept{" + b(m.ballot) + "," + s(m.first) + "," + s(m.chosen) + "," +
                      num(m.read_seq) + ",[";
    for (const auto& e : m.entries) out += entry(e);
    return out + "]}";
  }
  std::string operator()(const consensus::Accepted& m) const {
    return "Accepted{" + b(m.ballot) + "," + num(m.granted) + "," + b(m.promised) + "," +
           s(m.frontier) + "," + s(m.chosen) + "," + num(m.gap) + "," + num(m.read_seq) + "}";
  }
  std::string operator()(const consensus::SnapshotChunk& m) const {
    return "SnapshotChunk{" + b(m.ballot) + "," + s(m.slot) + "," + consensus::to_string(m.config) +
           "," + num(m.offset) + "," + num(m.total_bytes) + "," + bytes(m.data) + "}";
  }
  std::string operator()(const consensus::SnapshotAck& m) const {
    return "SnapshotAck{" + b(m.ballot) + "," + num(m.granted) + "," + b(m.promised) + "," +
           s(m.slot) + "," + num(m.next_offset) + "," + num(m.installed) + "}";
  }
  std::string operator()(const consensus::TimeoutNow& m) const {
    return "TimeoutNow{" + b(m.ballot) + "}";
  }
  std::string operator()(const consensus::Forward& m) const {
    std::string out = "Forward{";
    for (const auto& e : m.entries) out += entry(e);
    return out + "}";
  }
  std::string operator()(const consensus::Touch& m) const {
    std::string out = "Touch{";
    for (std::uint64_t id : m.sessions) out += num(id) + ",";
    return out + "}";
  }
  std::string operator()(const consensus::ReadIndex& m) const {
    std::string out = "ReadIndex{" + num(m.id) + ", sessions";
    for (const std::uint64_t s : m.sessions) out += " " + num(s);
    return out + ", nonce " + num(m.nonce) + (m.vouches ? ", vouches}" : "}");
  }
  std::string operator()(const consensus::ReadIndexReply& m) const {
    return "ReadIndexReply{" + num(m.id) + "," + num(m.ok) + "," + s(m.index) + "," + num(m.nonce) +
           "}";
  }
};

std::string version(const std::optional<std::int32_t>& v) { return v ? num(*v) : "any"; }
std::string fence(const std::optional<protocol::Fence>& f) {
  return f ? "fence(" + f->path.text() + "," + num(f->token.value()) + ")" : "nofence";
}

struct OpText {
  std::string operator()(const protocol::CreateOp& o) const {
    return "create(" + o.path.text() + "," + bytes(o.data) + "," +
           num(std::uint64_t{static_cast<std::uint8_t>(o.kind)}) + "," + num(o.sequential) + "," +
           num(o.ttl_ms) + "," + num(std::uint64_t{static_cast<std::uint8_t>(o.parents)}) + ")";
  }
  std::string operator()(const protocol::DeleteOp& o) const {
    return "delete(" + o.path.text() + "," + version(o.expected_version) + ")";
  }
  std::string operator()(const protocol::SetOp& o) const {
    return "set(" + o.path.text() + "," + bytes(o.data) + "," + version(o.expected_version) + ")";
  }
  std::string operator()(const protocol::CheckOp& o) const {
    return "check(" + o.path.text() + "," + version(o.expected_version) + ")";
  }
};

struct CommandText {
  std::string operator()(const store::NoopCommand& c) const {
    return "Noop(" + to_string(c.leader) + ")";
  }
  std::string operator()(const store::OpenSessionCommand& c) const {
    return "Open(" + num(c.timeout_ms) + "," + num(c.secret.high) + ":" + num(c.secret.low) + ")";
  }
  std::string operator()(const store::CloseSessionCommand& c) const {
    return "Close(" + num(c.session.value()) + ")";
  }
  std::string operator()(const store::ExpireSessionsCommand& c) const {
    std::string out = "Expire(";
    for (SessionId id : c.sessions) out += num(id.value()) + ",";
    return out + " by " + to_string(c.proposer) + ")";
  }
  std::string operator()(const store::RemoveExpiredTtlCommand& c) const {
    std::string out = "RemoveTtl(";
    for (const auto& p : c.paths) out += p.text() + ",";
    return out + ")";
  }
  std::string operator()(const store::WriteCommand& c) const {
    return "Write(" + num(c.session.value()) + "," + fence(c.fence) + "," +
           std::visit(OpText{}, c.op) + ")";
  }
  std::string operator()(const store::MoveSessionCommand& c) const {
    return "Move(" + num(c.session.value()) + "," + std::to_string(c.to.value()) + "," +
           num(c.at.value()) + ")";
  }
  std::string operator()(const store::MultiCommand& c) const {
    std::string out = "Multi(" + num(c.session.value()) + "," + fence(c.fence) + ",[";
    for (const auto& m : c.ops) out += std::visit(OpText{}, m.op) + "+" + fence(m.fence) + ";";
    return out + "])";
  }
};

std::string mode(ReadMode m) { return m == ReadMode::linearizable ? "lin" : "seq"; }
std::string kind(WatchKind k) { return num(std::uint64_t{static_cast<std::uint8_t>(k)}); }

struct BodyText {
  std::string operator()(const WriteRequest& w) const {
    return "Write(" + fence(w.fence) + "," + std::visit(OpText{}, w.op) + ")";
  }
  std::string operator()(const MultiRequest& m) const {
    std::string out = "Multi(" + fence(m.fence) + ",[";
    for (const auto& o : m.ops) out += std::visit(OpText{}, o.op) + "+" + fence(o.fence) + ";";
    return out + "])";
  }
  std::string operator()(const CloseSessionRequest&) const { return "Close"; }
  std::string operator()(const GetRequest& r) const {
    return "Get(" + r.path.text() + "," + num(r.watch) + "," + mode(r.mode) + ")";
  }
  std::string operator()(const ExistsRequest& r) const {
    return "Exists(" + r.path.text() + "," + num(r.watch) + "," + mode(r.mode) + ")";
  }
  std::string operator()(const ChildrenRequest& r) const {
    return "Children(" + r.path.text() + "," + num(r.watch) + "," + mode(r.mode) + "," + r.after +
           "," + num(std::uint64_t{r.limit}) + ")";
  }
  std::string operator()(const CheckFenceRequest& r) const {
    return "CheckFence(" + fence(r.fence) + ")";
  }
  std::string operator()(const OpenSessionRequest& r) const {
    return "OpenSession(" + num(r.timeout_ms) + "," +
           (r.previous ? num(r.previous->value()) : "none") + "," + num(r.last_zxid.value()) + "," +
           num(r.secret.high) + ":" + num(r.secret.low) + ")";
  }
  std::string operator()(const KeepAliveRequest&) const { return "KeepAlive"; }
  std::string operator()(const SyncRequest&) const { return "Sync"; }
  std::string operator()(const SetWatchRequest& r) const {
    return "SetWatch(" + r.path.text() + "," + kind(r.kind) + "," +
           (r.from_zxid ? num(r.from_zxid->value()) : "none") + ")";
  }
  std::string operator()(const RemoveWatchRequest& r) const {
    return "RemoveWatch(" + r.path.text() + "," + kind(r.kind) + ")";
  }
};

std::string stat(const protocol::Stat& x) {
  return "stat(" + num(x.czxid.value()) + "," + num(x.mzxid.value()) + "," + num(x.pzxid.value()) +
         "," + num(x.ctime_ms) + "," + num(x.mtime_ms) + "," + num(x.version) + "," +
         num(x.cversion) + "," + num(x.ephemeral_owner.value()) + "," + num(x.num_children) +
         "," + num(x.data_length) + ")";
}

struct ResultText {
  std::string operator()(const std::monostate&) const { return "none"; }
  std::string operator()(const StatResult& r) const { return stat(r.stat); }
  std::string operator()(const DataResult& r) const {
    return "data(" + bytes(r.data) + "," + stat(r.stat) + "," +
           num(std::uint64_t{static_cast<std::uint8_t>(r.kind)}) + "," + num(r.ttl_ms) + ")";
  }
  std::string operator()(const ChildrenResult& r) const {
    std::string out = "children(";
    for (const auto& e : r.entries) out += e.name + ":" + stat(e.stat) + ";";
    return out + (r.next_after ? "next=" + *r.next_after : "last") + ")";
  }
  std::string operator()(const CreateResult& r) const {
    return "created(" + r.path + "," + stat(r.stat) + ")";
  }
  std::string operator()(const MultiResult& r) const {
    std::string out = "multi(";
    for (const auto& op : r.results) {
      out += num(std::int64_t{static_cast<std::int32_t>(op.error)}) + "," + op.path + "," +
             (op.stat ? stat(*op.stat) : "nostat") + ";";
    }
    return out + ")";
  }
  std::string operator()(const SessionResult& r) const {
    return "session(" + num(r.session.value()) + "," + num(r.timeout_ms) + "," +
           num(r.safe_for_ms) + "," + num(r.secret.high) + ":" + num(r.secret.low) + ")";
  }
  std::string operator()(const FenceResult& r) const {
    return "fence(" + num(r.token.value()) + ")";
  }
};

struct ServerText {
  std::string operator()(const Response& r) const {
    return "Response(" + num(r.request_id) + "," + num(r.zxid.value()) + "," +
           num(std::int64_t{static_cast<std::int32_t>(r.status.error)}) + "," + r.status.message +
           "," + std::visit(ResultText{}, r.body) + ")";
  }
  std::string operator()(const WatchEvent& e) const {
    return "WatchEvent(" + num(e.event.zxid.value()) + "," +
           num(std::uint64_t{static_cast<std::uint8_t>(e.event.type)}) + "," + e.event.path + "," +
           e.watch_path.text() + "," + kind(e.watch_kind) + ")";
  }
  std::string operator()(const SessionEvent& e) const {
    return "SessionEvent(" + num(std::uint64_t{static_cast<std::uint8_t>(e.state)}) + "," +
           num(e.session.value()) + "," + e.message + ")";
  }
};

}  // namespace

std::string describe(const consensus::Message& message) {
  return std::visit(MessageText{}, message);
}
std::string describe(const consensus::Envelope& e) {
  return num(std::uint64_t{e.from.value()}) + "->" + num(std::uint64_t{e.to.value()}) + ":" +
         describe(e.message);
}
std::string describe(const store::Command& command) { return std::visit(CommandText{}, command); }
std::string describe(const LogCommand& c) {
  return "Log(" + num(c.time_ms) + "," + num(c.session.value()) + "," + num(c.sequence) + "," +
         describe(c.command) + ")";
}
std::string describe(const ClientRequest& r) {
  return "#" + num(r.request_id) + ":" + std::visit(BodyText{}, r.body);
}
std::string describe(const ServerMessage& m) { return std::visit(ServerText{}, m); }

}  // namespace synod::codec::test
