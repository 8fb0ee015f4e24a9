// decode_client and request_id_of (codec.h): ClientFrame -> ClientRequest.
#include "protocol/codec.h"

#include <utility>

#include "proto/client_generated.h"
#include "protocol/frame.h"

namespace synod::protocol {
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

ClientBody read(Reader&, const proto::OpenSessionRequest& m) {
  OpenSessionRequest out;
  out.timeout_ms = m.timeout_ms();
  if (m.previous_session().has_value()) out.previous = SessionId{*m.previous_session()};
  out.last_zxid = Zxid{m.last_zxid()};
  out.secret = SessionSecret{m.secret_high(), m.secret_low()};
  return out;
}

ClientBody read(Reader&, const proto::KeepAliveRequest&) { return KeepAliveRequest{}; }

ClientBody read(Reader&, const proto::CloseSessionRequest&) { return CloseSessionRequest{}; }

ClientBody read(Reader& r, const proto::CreateRequest& m) {
  return WriteRequest{r.fence(m.fence()), r.create(m)};
}

ClientBody read(Reader& r, const proto::DeleteRequest& m) {
  DeleteOp op{r.path(m.path(), "delete path"), r.version(m.expected_version())};
  return WriteRequest{r.fence(m.fence()), std::move(op)};
}

ClientBody read(Reader& r, const proto::SetRequest& m) {
  SetOp op{r.path(m.path(), "set path"), Reader::bytes(m.data()), r.version(m.expected_version())};
  return WriteRequest{r.fence(m.fence()), std::move(op)};
}

ClientBody read(Reader& r, const proto::GetRequest& m) {
  return GetRequest{r.path(m.path(), "get path"), m.watch(), read_mode(r, m.mode())};
}

ClientBody read(Reader& r, const proto::ExistsRequest& m) {
  return ExistsRequest{r.path(m.path(), "exists path"), m.watch(), read_mode(r, m.mode())};
}

ClientBody read(Reader& r, const proto::ChildrenRequest& m) {
  ChildrenRequest out{r.path(m.path(), "children path"), m.watch(), read_mode(r, m.mode()),
                      Reader::text(m.after()), m.limit()};
  if (out.limit == 0) out.limit = children_page_default;
  if (out.limit > children_page_max) {
    r.fail("children limit " + std::to_string(out.limit) + " exceeds children_page_max (" +
           std::to_string(children_page_max) + ")");
  }
  if (out.after.size() > path_bytes_max) r.fail("children cursor is longer than a path");
  return out;
}

ClientBody read(Reader& r, const proto::MultiRequest& m) {
  return MultiRequest{r.fence(m.fence()), r.multi_ops(m.ops())};
}

ClientBody read(Reader&, const proto::SyncRequest&) { return SyncRequest{}; }

ClientBody read(Reader& r, const proto::CheckFenceRequest& m) {
  return CheckFenceRequest{Fence{r.path(m.path(), "fence path"), Zxid{m.token()}}};
}

ClientBody read(Reader& r, const proto::SetWatchRequest& m) {
  SetWatchRequest out{r.path(m.path(), "watch path"), watch_kind(r, m.kind()), std::nullopt};
  if (m.from_zxid().has_value()) out.from_zxid = Zxid{*m.from_zxid()};
  return out;
}

ClientBody read(Reader& r, const proto::RemoveWatchRequest& m) {
  return RemoveWatchRequest{r.path(m.path(), "watch path"), watch_kind(r, m.kind())};
}

template <class T>
ClientBody read_as(Reader& r, const void* value) {
  if (!r.present(value, "request body")) return SyncRequest{};
  return read(r, *static_cast<const T*>(value));
}

ClientBody read_body(Reader& r, const proto::ClientFrame& f) {
  const void* v = f.request();
  using K = proto::Request;
  switch (f.request_type()) {
    case K::OpenSessionRequest: return read_as<proto::OpenSessionRequest>(r, v);
    case K::KeepAliveRequest: return read_as<proto::KeepAliveRequest>(r, v);
    case K::CloseSessionRequest: return read_as<proto::CloseSessionRequest>(r, v);
    case K::CreateRequest: return read_as<proto::CreateRequest>(r, v);
    case K::DeleteRequest: return read_as<proto::DeleteRequest>(r, v);
    case K::SetRequest: return read_as<proto::SetRequest>(r, v);
    case K::GetRequest: return read_as<proto::GetRequest>(r, v);
    case K::ExistsRequest: return read_as<proto::ExistsRequest>(r, v);
    case K::ChildrenRequest: return read_as<proto::ChildrenRequest>(r, v);
    case K::MultiRequest: return read_as<proto::MultiRequest>(r, v);
    case K::SyncRequest: return read_as<proto::SyncRequest>(r, v);
    case K::CheckFenceRequest: return read_as<proto::CheckFenceRequest>(r, v);
    case K::SetWatchRequest: return read_as<proto::SetWatchRequest>(r, v);
    case K::RemoveWatchRequest: return read_as<proto::RemoveWatchRequest>(r, v);
    case K::NONE: r.fail("the frame holds no request"); return SyncRequest{};
  }
  r.fail_with(Error::UNIMPLEMENTED, "request kind " +
                                        std::to_string(static_cast<unsigned>(f.request_type())) +
                                        " is unknown to this server");
  return SyncRequest{};
}

}  // namespace

Result<ClientRequest> decode_client(std::string_view bytes) {
  if (Status size = detail::check_frame_size(bytes, "client frame"); !size.ok()) return size;
  const detail::AlignedBytes aligned(bytes);
  Reader r("client frame");
  if (!detail::verify_root<proto::ClientFrame>(aligned)) {
    r.fail("the FlatBuffers verifier rejected " + std::to_string(bytes.size()) + " bytes");
    return r.status();
  }
  const auto* frame = fb::GetRoot<proto::ClientFrame>(aligned.data());
  ClientRequest out{frame->request_id(), read_body(r, *frame)};
  if (!r.ok()) return r.status();
  return out;
}

std::optional<std::uint64_t> request_id_of(std::string_view bytes) {
  if (!detail::check_frame_size(bytes, "client frame").ok()) return std::nullopt;
  const detail::AlignedBytes aligned(bytes);
  if (!detail::verify_root<proto::ClientFrame>(aligned)) return std::nullopt;
  return fb::GetRoot<proto::ClientFrame>(aligned.data())->request_id();
}

}  // namespace synod::protocol
