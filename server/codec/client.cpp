// decode_client and request_id_of (client.h): ClientFrame -> ClientRequest.
#include "server/codec/client.h"

#include <utility>

#include "proto/client_generated.h"
#include "server/codec/frame.h"

namespace synod::codec {
namespace {

using detail::Reader;
namespace fb = flatbuffers;

ReadMode read_mode(Reader& r, proto::ReadMode mode) {
  switch (mode) {
    case proto::ReadMode::linearizable: return ReadMode::linearizable;
    case proto::ReadMode::sequential: return ReadMode::sequential;
  }
  r.fail("read mode " + std::to_string(static_cast<unsigned>(mode)) + " is unknown");
  return ReadMode::linearizable;
}

WatchKind watch_kind(Reader& r, proto::WatchKind kind) {
  const auto value = static_cast<std::uint8_t>(kind);
  if (value < static_cast<std::uint8_t>(WatchKind::data) ||
      value > static_cast<std::uint8_t>(WatchKind::persistent_recursive)) {
    r.fail("watch kind " + std::to_string(value) + " is not a watch");
    return WatchKind::data;
  }
  return static_cast<WatchKind>(value);
}

ClientBody read(Reader&, const proto::OpenSessionRequest& m, SessionId) {
  OpenSessionRequest out;
  out.timeout_ms = m.timeout_ms();
  if (m.previous_session().has_value()) out.previous = SessionId{*m.previous_session()};
  out.last_zxid = Zxid{m.last_zxid()};
  return out;
}

ClientBody read(Reader&, const proto::KeepAliveRequest&, SessionId) { return KeepAliveRequest{}; }

ClientBody read(Reader&, const proto::CloseSessionRequest&, SessionId session) {
  return store::Command{store::CloseSessionCommand{session}};
}

ClientBody read(Reader& r, const proto::CreateRequest& m, SessionId session) {
  store::WriteCommand w{session, r.fence(m.fence()), r.create(m)};
  return store::Command{std::move(w)};
}

ClientBody read(Reader& r, const proto::DeleteRequest& m, SessionId session) {
  store::DeleteOp op{r.path(m.path(), "delete path"), r.version(m.expected_version())};
  return store::Command{store::WriteCommand{session, r.fence(m.fence()), std::move(op)}};
}

ClientBody read(Reader& r, const proto::SetRequest& m, SessionId session) {
  store::SetOp op{r.path(m.path(), "set path"), Reader::bytes(m.data()),
                  r.version(m.expected_version())};
  return store::Command{store::WriteCommand{session, r.fence(m.fence()), std::move(op)}};
}

ClientBody read(Reader& r, const proto::GetRequest& m, SessionId) {
  return GetRequest{r.path(m.path(), "get path"), m.watch(), read_mode(r, m.mode())};
}

ClientBody read(Reader& r, const proto::ExistsRequest& m, SessionId) {
  return ExistsRequest{r.path(m.path(), "exists path"), m.watch(), read_mode(r, m.mode())};
}

ClientBody read(Reader& r, const proto::ChildrenRequest& m, SessionId) {
  ChildrenRequest out{r.path(m.path(), "children path"), m.watch(), read_mode(r, m.mode()),
                      Reader::text(m.after()), m.limit()};
  if (out.limit == 0) out.limit = children_page_default;
  if (out.limit > store::children_page_max) {
    r.fail("children limit " + std::to_string(out.limit) + " exceeds children_page_max (" +
           std::to_string(store::children_page_max) + ")");
  }
  if (out.after.size() > store::path_bytes_max) r.fail("children cursor is longer than a path");
  return out;
}

ClientBody read(Reader& r, const proto::MultiRequest& m, SessionId session) {
  store::MultiCommand out{session, r.fence(m.fence()), r.multi_ops(m.ops())};
  return store::Command{std::move(out)};
}

ClientBody read(Reader&, const proto::SyncRequest&, SessionId) { return SyncRequest{}; }

ClientBody read(Reader& r, const proto::CheckFenceRequest& m, SessionId) {
  return CheckFenceRequest{store::Fence{r.path(m.path(), "fence path"), Zxid{m.token()}}};
}

ClientBody read(Reader& r, const proto::SetWatchRequest& m, SessionId) {
  SetWatchRequest out{r.path(m.path(), "watch path"), watch_kind(r, m.kind()), std::nullopt};
  if (m.from_zxid().has_value()) out.from_zxid = Zxid{*m.from_zxid()};
  return out;
}

ClientBody read(Reader& r, const proto::RemoveWatchRequest& m, SessionId) {
  return RemoveWatchRequest{r.path(m.path(), "watch path"), watch_kind(r, m.kind())};
}

template <class T>
ClientBody read_as(Reader& r, const void* value, SessionId session) {
  if (!r.present(value, "request body")) return SyncRequest{};
  return read(r, *static_cast<const T*>(value), session);
}

ClientBody read_body(Reader& r, const proto::ClientFrame& f, SessionId s) {
  const void* v = f.request();
  using K = proto::Request;
  switch (f.request_type()) {
    case K::OpenSessionRequest: return read_as<proto::OpenSessionRequest>(r, v, s);
    case K::KeepAliveRequest: return read_as<proto::KeepAliveRequest>(r, v, s);
    case K::CloseSessionRequest: return read_as<proto::CloseSessionRequest>(r, v, s);
    case K::CreateRequest: return read_as<proto::CreateRequest>(r, v, s);
    case K::DeleteRequest: return read_as<proto::DeleteRequest>(r, v, s);
    case K::SetRequest: return read_as<proto::SetRequest>(r, v, s);
    case K::GetRequest: return read_as<proto::GetRequest>(r, v, s);
    case K::ExistsRequest: return read_as<proto::ExistsRequest>(r, v, s);
    case K::ChildrenRequest: return read_as<proto::ChildrenRequest>(r, v, s);
    case K::MultiRequest: return read_as<proto::MultiRequest>(r, v, s);
    case K::SyncRequest: return read_as<proto::SyncRequest>(r, v, s);
    case K::CheckFenceRequest: return read_as<proto::CheckFenceRequest>(r, v, s);
    case K::SetWatchRequest: return read_as<proto::SetWatchRequest>(r, v, s);
    case K::RemoveWatchRequest: return read_as<proto::RemoveWatchRequest>(r, v, s);
    case K::NONE: r.fail("the frame holds no request"); return SyncRequest{};
  }
  r.fail_with(store::Error::UNIMPLEMENTED,
              "request kind " + std::to_string(static_cast<unsigned>(f.request_type())) +
                  " is unknown to this server");
  return SyncRequest{};
}

}  // namespace

Result<ClientRequest> decode_client(std::string_view bytes, SessionId session) {
  if (Status size = detail::check_frame_size(bytes, "client frame"); !size.ok()) return size;
  const detail::AlignedBytes aligned(bytes);
  Reader r("client frame");
  if (!detail::verify_root<proto::ClientFrame>(aligned)) {
    r.fail("the FlatBuffers verifier rejected " + std::to_string(bytes.size()) + " bytes");
    return r.status();
  }
  const auto* frame = fb::GetRoot<proto::ClientFrame>(aligned.data());
  ClientRequest out{frame->request_id(), read_body(r, *frame, session)};
  if (!r.ok()) return r.status();
  return out;
}

std::optional<std::uint64_t> request_id_of(std::string_view bytes) {
  if (!detail::check_frame_size(bytes, "client frame").ok()) return std::nullopt;
  const detail::AlignedBytes aligned(bytes);
  if (!detail::verify_root<proto::ClientFrame>(aligned)) return std::nullopt;
  return fb::GetRoot<proto::ClientFrame>(aligned.data())->request_id();
}

}  // namespace synod::codec
