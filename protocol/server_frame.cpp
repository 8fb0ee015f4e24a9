// encode_response, encode_watch_event, encode_session_event and
// decode_server (codec.h): ServerFrames.
#include <utility>
#include <vector>

#include "proto/client_generated.h"
#include "protocol/codec.h"
#include "protocol/frame.h"

namespace synod::protocol {
namespace {

using detail::Builder;
using detail::Reader;
namespace fb = flatbuffers;

struct WrittenResult {
  proto::ResponseResult type = proto::ResponseResult::NONE;
  fb::Offset<void> value;
};

WrittenResult write(Builder&, const std::monostate&) { return {}; }

WrittenResult write(Builder& fbb, const StatResult& r) {
  const proto::Stat stat = detail::write_stat(r.stat);
  return {proto::ResponseResult::StatResult, proto::CreateStatResult(fbb, &stat).Union()};
}

WrittenResult write(Builder& fbb, const DataResult& r) {
  const auto data = detail::write_bytes(fbb, r.data);
  const proto::Stat stat = detail::write_stat(r.stat);
  return {proto::ResponseResult::DataResult,
          proto::CreateDataResult(fbb, data, &stat, static_cast<proto::NodeKind>(r.kind), r.ttl_ms)
              .Union()};
}

WrittenResult write(Builder& fbb, const ChildrenResult& r) {
  std::vector<fb::Offset<fb::String>> names;
  std::vector<proto::Stat> stats;
  names.reserve(r.entries.size());
  stats.reserve(r.entries.size());
  for (const ChildEntry& e : r.entries) {
    names.push_back(fbb.CreateString(e.name));
    stats.push_back(detail::write_stat(e.stat));
  }
  const auto name_vector = fbb.CreateVector(names);
  const auto stat_vector = fbb.CreateVectorOfStructs(stats);
  const auto next = r.next_after ? fbb.CreateString(*r.next_after) : 0;
  return {proto::ResponseResult::ChildrenResult,
          proto::CreateChildrenResult(fbb, name_vector, stat_vector, next).Union()};
}

WrittenResult write(Builder& fbb, const CreateResult& r) {
  const auto path = fbb.CreateString(r.path);
  const proto::Stat stat = detail::write_stat(r.stat);
  return {proto::ResponseResult::CreateResult, proto::CreateCreateResult(fbb, path, &stat).Union()};
}

WrittenResult write(Builder& fbb, const MultiResult& r) {
  std::vector<fb::Offset<proto::OpResult>> results;
  results.reserve(r.results.size());
  for (const OpResult& op : r.results) {
    const auto path = fbb.CreateString(op.path);
    const proto::Stat stat = op.stat ? detail::write_stat(*op.stat) : proto::Stat();
    results.push_back(proto::CreateOpResult(fbb, static_cast<proto::Error>(op.error), path,
                                            op.stat ? &stat : nullptr));
  }
  const auto vector = fbb.CreateVector(results);
  return {proto::ResponseResult::MultiResult, proto::CreateMultiResult(fbb, vector).Union()};
}

WrittenResult write(Builder& fbb, const SessionResult& r) {
  return {proto::ResponseResult::SessionResult,
          proto::CreateSessionResult(fbb, r.session.value(), r.timeout_ms, r.safe_for_ms,
                                     r.secret.high, r.secret.low)
              .Union()};
}

WrittenResult write(Builder& fbb, const FenceResult& r) {
  return {proto::ResponseResult::FenceResult,
          proto::CreateFenceResult(fbb, r.token.value()).Union()};
}

std::string write_response(const Response& response) {
  Builder fbb(256);
  const WrittenResult result =
      std::visit([&](const auto& body) { return write(fbb, body); }, response.body);
  const auto message = fbb.CreateString(response.status.message);
  const auto table = proto::CreateResponse(fbb, response.request_id, response.zxid.value(),
                                           static_cast<proto::Error>(response.status.error),
                                           message, result.type, result.value);
  fbb.Finish(proto::CreateServerFrame(fbb, proto::ServerMessage::Response, table.Union()));
  return detail::finish_bytes(fbb);
}

// ---- decode_server ----

Error read_error(Reader& r, proto::Error error) {
  const auto value = static_cast<std::int32_t>(error);
  if (value < 0 || value > static_cast<std::int32_t>(error_last)) {
    r.fail("error code " + std::to_string(value) + " is unknown (a newer server?)");
    return Error::OK;
  }
  return static_cast<Error>(value);
}

Stat read_stat(Reader& r, const proto::Stat* stat) {
  if (!r.present(stat, "stat")) return {};
  return detail::read_stat(*stat);
}

ResultBody read_children(Reader& r, const proto::ChildrenResult& c) {
  ChildrenResult out;
  const auto* names = c.names();
  const auto* stats = c.stats();
  const std::size_t count = names == nullptr ? 0 : names->size();
  if (count != (stats == nullptr ? 0 : stats->size())) {
    r.fail("children names and stats differ in number");
    return out;
  }
  out.entries.reserve(count);
  for (fb::uoffset_t i = 0; i < count; ++i) {
    out.entries.push_back(
        ChildEntry{Reader::text(names->Get(i)),
                   detail::read_stat(detail::load_element<proto::Stat>(*stats, i))});
  }
  if (c.next_after() != nullptr) out.next_after = c.next_after()->str();
  return out;
}

ResultBody read_multi(Reader& r, const proto::MultiResult& m) {
  MultiResult out;
  if (m.results() == nullptr) return out;
  if (m.results()->size() > multi_ops_max) {
    r.fail("a multi result of more than multi_ops_max ops");
    return out;
  }
  for (const proto::OpResult* op : *m.results()) {
    if (!r.present(op, "op result")) break;
    OpResult decoded{read_error(r, op->error()), Reader::text(op->path()), std::nullopt};
    if (op->stat() != nullptr) decoded.stat = detail::read_stat(*op->stat());
    out.results.push_back(std::move(decoded));
  }
  return out;
}

ResultBody read_result(Reader& r, const proto::Response& m) {
  const void* v = m.result();
  using K = proto::ResponseResult;
  if (m.result_type() != K::NONE && !r.present(v, "result body")) return {};
  switch (m.result_type()) {
    case K::NONE: return {};
    case K::StatResult:
      return StatResult{read_stat(r, static_cast<const proto::StatResult*>(v)->stat())};
    case K::DataResult: {
      const auto& d = *static_cast<const proto::DataResult*>(v);
      return DataResult{Reader::bytes(d.data()), read_stat(r, d.stat()), r.node_kind(d.kind()),
                        d.ttl_ms()};
    }
    case K::ChildrenResult: return read_children(r, *static_cast<const proto::ChildrenResult*>(v));
    case K::CreateResult: {
      const auto& c = *static_cast<const proto::CreateResult*>(v);
      return CreateResult{Reader::text(c.path()), read_stat(r, c.stat())};
    }
    case K::MultiResult: return read_multi(r, *static_cast<const proto::MultiResult*>(v));
    case K::SessionResult: {
      const auto& s = *static_cast<const proto::SessionResult*>(v);
      return SessionResult{SessionId{s.session()}, s.timeout_ms(), s.safe_for_ms(),
                           SessionSecret{s.secret_high(), s.secret_low()}};
    }
    case K::FenceResult:
      return FenceResult{Zxid{static_cast<const proto::FenceResult*>(v)->token()}};
  }
  r.fail("result kind " + std::to_string(static_cast<unsigned>(m.result_type())) + " is unknown");
  return {};
}

ServerMessage read_response(Reader& r, const proto::Response& m) {
  Response out;
  out.request_id = m.request_id();
  out.zxid = Zxid{m.zxid()};
  out.status.error = read_error(r, m.error());
  out.status.message = Reader::text(m.message());
  out.body = read_result(r, m);
  return out;
}

static_assert(static_cast<int>(proto::EventType::compacted) ==
                  static_cast<int>(EventType::compacted),
              "proto EventType mirrors protocol::EventType");

ServerMessage read_watch_event(Reader& r, const proto::WatchEvent& m) {
  WatchEvent out;
  const auto type = static_cast<std::uint8_t>(m.type());
  if (type < 1 || type > static_cast<std::uint8_t>(EventType::compacted))
    r.fail("event type " + std::to_string(type) + " is unknown");
  out.event = Event{static_cast<EventType>(type), Reader::text(m.path()), Zxid{m.zxid()}};
  out.watch_path = r.path(m.watch_path(), "watch path");
  const auto kind = static_cast<std::uint8_t>(m.watch_kind());
  if (kind < 1 || kind > 5) r.fail("watch kind " + std::to_string(kind) + " is not a watch");
  out.watch_kind = static_cast<WatchKind>(kind);
  return out;
}

ServerMessage read_session_event(Reader& r, const proto::SessionEvent& m) {
  const auto state = static_cast<std::uint8_t>(m.state());
  if (state > static_cast<std::uint8_t>(SessionState::closed)) {
    r.fail("session state " + std::to_string(state) + " is unknown");
  }
  SessionEvent event;
  event.state = static_cast<SessionState>(state);
  event.session = SessionId{m.session()};
  event.message = Reader::text(m.message());
  return event;
}

ServerMessage read_server(Reader& r, const proto::ServerFrame& f) {
  const void* v = f.message();
  using K = proto::ServerMessage;
  if (f.message_type() != K::NONE && !r.present(v, "message body")) return Response{};
  switch (f.message_type()) {
    case K::Response: return read_response(r, *static_cast<const proto::Response*>(v));
    case K::WatchEvent: return read_watch_event(r, *static_cast<const proto::WatchEvent*>(v));
    case K::SessionEvent: return read_session_event(r, *static_cast<const proto::SessionEvent*>(v));
    case K::NONE: r.fail("the frame holds no message"); return Response{};
  }
  r.fail("message kind " + std::to_string(static_cast<unsigned>(f.message_type())) +
         " is unknown (a newer server?)");
  return Response{};
}

}  // namespace

std::string encode_response(const Response& response) {
  std::string bytes = write_response(response);
  if (bytes.size() <= frame_bytes_max) return bytes;
  Response refusal{
      response.request_id, response.zxid,
      error_status(Error::TOO_LARGE, "the answer (" + std::to_string(bytes.size()) +
                                         " bytes) exceeds frame_bytes_max; ask for less"),
      std::monostate{}};
  return write_response(refusal);
}

std::string encode_watch_event(const WatchEvent& e) {
  Builder fbb(128);
  const auto path = fbb.CreateString(e.event.path);
  const auto watch_path = fbb.CreateString(e.watch_path.text());
  const auto table = proto::CreateWatchEvent(
      fbb, e.event.zxid.value(), static_cast<proto::EventType>(e.event.type), path, watch_path,
      static_cast<proto::WatchKind>(e.watch_kind));
  fbb.Finish(proto::CreateServerFrame(fbb, proto::ServerMessage::WatchEvent, table.Union()));
  return detail::finish_bytes(fbb);
}

std::string encode_session_event(const SessionEvent& e) {
  Builder fbb(128);
  const auto message = fbb.CreateString(e.message);
  const auto table = proto::CreateSessionEvent(fbb, static_cast<proto::SessionState>(e.state),
                                               e.session.value(), message);
  fbb.Finish(proto::CreateServerFrame(fbb, proto::ServerMessage::SessionEvent, table.Union()));
  return detail::finish_bytes(fbb);
}

Result<ServerMessage> decode_server(std::string_view bytes) {
  if (Status size = detail::check_frame_size(bytes, "server frame"); !size.ok()) return size;
  const detail::AlignedBytes aligned(bytes);
  Reader r("server frame");
  if (!detail::verify_root<proto::ServerFrame>(aligned)) {
    r.fail("the FlatBuffers verifier rejected " + std::to_string(bytes.size()) + " bytes");
    return r.status();
  }
  ServerMessage out = read_server(r, *fb::GetRoot<proto::ServerFrame>(aligned.data()));
  if (!r.ok()) return r.status();
  return out;
}

}  // namespace synod::protocol
