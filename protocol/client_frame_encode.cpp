// encode_client (codec.h): ClientRequest -> ClientFrame, the inverse of
// decode_client. client/core writes every request it sends with it.
#include <string>
#include <variant>

#include "base/assert.h"
#include "proto/client_generated.h"
#include "protocol/codec.h"
#include "protocol/frame.h"

namespace synod::protocol {
namespace {

using detail::Builder;
namespace fb = flatbuffers;

struct Written {
  proto::Request type = proto::Request::NONE;
  fb::Offset<void> value;
};

fb::Optional<std::int32_t> version_of(const std::optional<std::int32_t>& v) {
  if (!v) return fb::nullopt;
  return *v;
}

Written write_single(Builder& fbb, const WriteRequest& w) {
  const auto fence = detail::write_fence(fbb, w.fence);
  if (const auto* c = std::get_if<CreateOp>(&w.op)) {
    const auto path = fbb.CreateString(c->path.text());
    const auto data = detail::write_bytes(fbb, c->data);
    return {proto::Request::CreateRequest,
            proto::CreateCreateRequest(fbb, path, data, static_cast<proto::NodeKind>(c->kind),
                                       c->sequential, c->ttl_ms,
                                       static_cast<proto::MissingParents>(c->parents), fence)
                .Union()};
  }
  if (const auto* d = std::get_if<DeleteOp>(&w.op)) {
    const auto path = fbb.CreateString(d->path.text());
    return {proto::Request::DeleteRequest,
            proto::CreateDeleteRequest(fbb, path, version_of(d->expected_version), fence).Union()};
  }
  // A check alone is not a request on the wire; it exists only inside a multi.
  const auto* s = std::get_if<SetOp>(&w.op);
  SYNOD_ASSERT_MSG(s != nullptr, "a single write is a create, a delete or a set");
  const auto path = fbb.CreateString(s->path.text());
  const auto data = detail::write_bytes(fbb, s->data);
  return {proto::Request::SetRequest,
          proto::CreateSetRequest(fbb, path, data, version_of(s->expected_version), fence).Union()};
}

struct Writer {
  Builder& fbb;

  Written operator()(const WriteRequest& w) const { return write_single(fbb, w); }
  Written operator()(const MultiRequest& m) const {
    const auto ops = detail::write_multi_ops(fbb, m.ops);
    const auto fence = detail::write_fence(fbb, m.fence);
    return {proto::Request::MultiRequest, proto::CreateMultiRequest(fbb, ops, fence).Union()};
  }
  Written operator()(const CloseSessionRequest&) const {
    return {proto::Request::CloseSessionRequest, proto::CreateCloseSessionRequest(fbb).Union()};
  }
  Written operator()(const GetRequest& r) const {
    const auto path = fbb.CreateString(r.path.text());
    return {
        proto::Request::GetRequest,
        proto::CreateGetRequest(fbb, path, r.watch, static_cast<proto::ReadMode>(r.mode)).Union()};
  }
  Written operator()(const ExistsRequest& r) const {
    const auto path = fbb.CreateString(r.path.text());
    return {proto::Request::ExistsRequest,
            proto::CreateExistsRequest(fbb, path, r.watch, static_cast<proto::ReadMode>(r.mode))
                .Union()};
  }
  Written operator()(const ChildrenRequest& r) const {
    const auto path = fbb.CreateString(r.path.text());
    const auto after = fbb.CreateString(r.after);
    return {proto::Request::ChildrenRequest,
            proto::CreateChildrenRequest(fbb, path, r.watch, static_cast<proto::ReadMode>(r.mode),
                                         after, r.limit)
                .Union()};
  }
  Written operator()(const CheckFenceRequest& r) const {
    const auto path = fbb.CreateString(r.fence.path.text());
    return {proto::Request::CheckFenceRequest,
            proto::CreateCheckFenceRequest(fbb, path, r.fence.token.value()).Union()};
  }
  Written operator()(const OpenSessionRequest& r) const {
    fb::Optional<std::uint64_t> previous = fb::nullopt;
    if (r.previous) previous = r.previous->value();
    return {
        proto::Request::OpenSessionRequest,
        proto::CreateOpenSessionRequest(fbb, r.timeout_ms, previous, r.last_zxid.value(),
                                        r.secret.high, r.secret.low)
            .Union()};
  }
  Written operator()(const KeepAliveRequest&) const {
    return {proto::Request::KeepAliveRequest, proto::CreateKeepAliveRequest(fbb).Union()};
  }
  Written operator()(const SyncRequest&) const {
    return {proto::Request::SyncRequest, proto::CreateSyncRequest(fbb).Union()};
  }
  Written operator()(const SetWatchRequest& r) const {
    const auto path = fbb.CreateString(r.path.text());
    fb::Optional<std::uint64_t> from = fb::nullopt;
    if (r.from_zxid) from = r.from_zxid->value();
    return {proto::Request::SetWatchRequest,
            proto::CreateSetWatchRequest(fbb, path, static_cast<proto::WatchKind>(r.kind), from)
                .Union()};
  }
  Written operator()(const RemoveWatchRequest& r) const {
    const auto path = fbb.CreateString(r.path.text());
    return {
        proto::Request::RemoveWatchRequest,
        proto::CreateRemoveWatchRequest(fbb, path, static_cast<proto::WatchKind>(r.kind)).Union()};
  }
};

}  // namespace

std::string encode_client(const ClientRequest& request) {
  Builder fbb(256);
  const Written written = std::visit(Writer{fbb}, request.body);
  fbb.Finish(proto::CreateClientFrame(fbb, request.request_id, written.type, written.value));
  return detail::finish_bytes(fbb);
}

}  // namespace synod::protocol
