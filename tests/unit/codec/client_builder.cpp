// build_client_frame (random_values.h): ClientFrames built with the generated
// API directly — the naive twin of protocol::encode_client (client_encode_test).
#include <variant>

#include "proto/client_generated.h"
#include "random_values.h"

namespace synod::codec::test {
namespace {

namespace fb = flatbuffers;
using Builder = fb::FlatBufferBuilder;

struct Built {
  proto::Request type = proto::Request::NONE;
  fb::Offset<void> value;
};

fb::Offset<fb::Vector<std::uint8_t>> data_of(Builder& fbb, const std::string& s) {
  return fbb.CreateVector(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
}

fb::Offset<proto::Fence> fence_of(Builder& fbb, const std::optional<protocol::Fence>& f) {
  if (!f) return 0;
  return proto::CreateFence(fbb, fbb.CreateString(f->path.text()), f->token.value());
}

fb::Optional<std::int32_t> version_of(const std::optional<std::int32_t>& v) {
  if (!v) return fb::nullopt;
  return *v;
}

fb::Offset<proto::MultiOp> multi_op_of(Builder& fbb, const protocol::MultiOp& m) {
  const auto fence = fence_of(fbb, m.fence);
  if (const auto* c = std::get_if<protocol::CreateOp>(&m.op)) {
    const auto op = proto::CreateCreateOp(fbb, fbb.CreateString(c->path.text()), data_of(fbb, c->data),
                                          static_cast<proto::NodeKind>(c->kind), c->sequential,
                                          c->ttl_ms, static_cast<proto::MissingParents>(c->parents));
    return proto::CreateMultiOp(fbb, proto::Op::CreateOp, op.Union(), fence);
  }
  if (const auto* d = std::get_if<protocol::DeleteOp>(&m.op)) {
    const auto op = proto::CreateDeleteOp(fbb, fbb.CreateString(d->path.text()),
                                          version_of(d->expected_version));
    return proto::CreateMultiOp(fbb, proto::Op::DeleteOp, op.Union(), fence);
  }
  if (const auto* s = std::get_if<protocol::SetOp>(&m.op)) {
    const auto op = proto::CreateSetOp(fbb, fbb.CreateString(s->path.text()), data_of(fbb, s->data),
                                       version_of(s->expected_version));
    return proto::CreateMultiOp(fbb, proto::Op::SetOp, op.Union(), fence);
  }
  const auto& k = std::get<protocol::CheckOp>(m.op);
  const auto op = proto::CreateCheckOp(fbb, fbb.CreateString(k.path.text()),
                                       version_of(k.expected_version));
  return proto::CreateMultiOp(fbb, proto::Op::CheckOp, op.Union(), fence);
}

Built write_op(Builder& fbb, const WriteRequest& w) {
  const auto fence = fence_of(fbb, w.fence);
  if (const auto* c = std::get_if<protocol::CreateOp>(&w.op)) {
    return {proto::Request::CreateRequest,
            proto::CreateCreateRequest(fbb, fbb.CreateString(c->path.text()), data_of(fbb, c->data),
                                       static_cast<proto::NodeKind>(c->kind), c->sequential,
                                       c->ttl_ms, static_cast<proto::MissingParents>(c->parents),
                                       fence)
                .Union()};
  }
  if (const auto* d = std::get_if<protocol::DeleteOp>(&w.op)) {
    return {proto::Request::DeleteRequest,
            proto::CreateDeleteRequest(fbb, fbb.CreateString(d->path.text()),
                                       version_of(d->expected_version), fence)
                .Union()};
  }
  const auto& s = std::get<protocol::SetOp>(w.op);
  return {proto::Request::SetRequest,
          proto::CreateSetRequest(fbb, fbb.CreateString(s.path.text()), data_of(fbb, s.data),
                                  version_of(s.expected_version), fence)
              .Union()};
}

struct Writer {
  Builder& fbb;
  Built operator()(const WriteRequest& w) const { return write_op(fbb, w); }
  Built operator()(const MultiRequest& m) const {
    std::vector<fb::Offset<proto::MultiOp>> ops;
    for (const auto& op : m.ops) ops.push_back(multi_op_of(fbb, op));
    const auto vector = fbb.CreateVector(ops);
    return {proto::Request::MultiRequest,
            proto::CreateMultiRequest(fbb, vector, fence_of(fbb, m.fence)).Union()};
  }
  Built operator()(const CloseSessionRequest&) const {
    return {proto::Request::CloseSessionRequest, proto::CreateCloseSessionRequest(fbb).Union()};
  }
  Built operator()(const GetRequest& r) const {
    return {proto::Request::GetRequest,
            proto::CreateGetRequest(fbb, fbb.CreateString(r.path.text()), r.watch,
                                    static_cast<proto::ReadMode>(r.mode))
                .Union()};
  }
  Built operator()(const ExistsRequest& r) const {
    return {proto::Request::ExistsRequest,
            proto::CreateExistsRequest(fbb, fbb.CreateString(r.path.text()), r.watch,
                                       static_cast<proto::ReadMode>(r.mode))
                .Union()};
  }
  Built operator()(const ChildrenRequest& r) const {
    return {proto::Request::ChildrenRequest,
            proto::CreateChildrenRequest(fbb, fbb.CreateString(r.path.text()), r.watch,
                                         static_cast<proto::ReadMode>(r.mode),
                                         fbb.CreateString(r.after), r.limit)
                .Union()};
  }
  Built operator()(const CheckFenceRequest& r) const {
    return {proto::Request::CheckFenceRequest,
            proto::CreateCheckFenceRequest(fbb, fbb.CreateString(r.fence.path.text()),
                                           r.fence.token.value())
                .Union()};
  }
  Built operator()(const OpenSessionRequest& r) const {
    fb::Optional<std::uint64_t> previous = fb::nullopt;
    if (r.previous) previous = r.previous->value();
    return {proto::Request::OpenSessionRequest,
            proto::CreateOpenSessionRequest(fbb, r.timeout_ms, previous, r.last_zxid.value(),
                                            r.secret.high, r.secret.low)
                .Union()};
  }
  Built operator()(const KeepAliveRequest&) const {
    return {proto::Request::KeepAliveRequest, proto::CreateKeepAliveRequest(fbb).Union()};
  }
  Built operator()(const SyncRequest&) const {
    return {proto::Request::SyncRequest, proto::CreateSyncRequest(fbb).Union()};
  }
  Built operator()(const SetWatchRequest& r) const {
    fb::Optional<std::uint64_t> from = fb::nullopt;
    if (r.from_zxid) from = r.from_zxid->value();
    return {proto::Request::SetWatchRequest,
            proto::CreateSetWatchRequest(fbb, fbb.CreateString(r.path.text()),
                                         static_cast<proto::WatchKind>(r.kind), from)
                .Union()};
  }
  Built operator()(const RemoveWatchRequest& r) const {
    return {proto::Request::RemoveWatchRequest,
            proto::CreateRemoveWatchRequest(fbb, fbb.CreateString(r.path.text()),
                                            static_cast<proto::WatchKind>(r.kind))
                .Union()};
  }
};

}  // namespace

std::string build_client_frame(const ClientRequest& request) {
  Builder fbb(256);
  const Built built = std::visit(Writer{fbb}, request.body);
  fbb.Finish(proto::CreateClientFrame(fbb, request.request_id, built.type, built.value));
  return std::string(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize());
}

}  // namespace synod::codec::test
