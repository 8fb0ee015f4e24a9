#include "protocol/frame.h"

#include <cstring>

namespace synod::protocol::detail {

AlignedBytes::AlignedBytes(std::string_view bytes) : size_(bytes.size()) {
  const auto* raw = reinterpret_cast<const std::uint8_t*>(bytes.data());
  if (reinterpret_cast<std::uintptr_t>(raw) % alignof(std::uint64_t) == 0) {
    data_ = raw;
    return;
  }
  copy_.resize((bytes.size() + sizeof(std::uint64_t) - 1) / sizeof(std::uint64_t));
  if (!bytes.empty()) std::memcpy(copy_.data(), bytes.data(), bytes.size());
  data_ = reinterpret_cast<const std::uint8_t*>(copy_.data());
}

Status check_frame_size(std::string_view bytes, std::string_view frame) {
  if (bytes.size() > frame_bytes_max) {
    return error_status(Error::TOO_LARGE, std::string(frame) + " of " +
                                              std::to_string(bytes.size()) +
                                              " bytes exceeds frame_bytes_max (" +
                                              std::to_string(frame_bytes_max) + " bytes)");
  }
  // A root offset plus the smallest table: anything shorter cannot verify.
  if (bytes.size() < 2 * sizeof(flatbuffers::uoffset_t)) {
    return error_status(Error::BAD_ARGUMENTS, "malformed " + std::string(frame) + ": only " +
                                                  std::to_string(bytes.size()) + " bytes");
  }
  return ok_status();
}

void Reader::fail_with(Error error, std::string_view what) {
  if (!status_.ok()) return;
  status_ = error_status(error, "malformed " + std::string(frame_) + ": " + std::string(what));
}

bool Reader::present(const void* p, std::string_view field) {
  if (p == nullptr) fail(std::string(field) + " is missing");
  return p != nullptr;
}

Path Reader::path(const flatbuffers::String* text, std::string_view field) {
  if (!present(text, field)) return Path::root();
  auto parsed = Path::parse(text->string_view());
  if (!parsed.ok()) {
    fail_with(parsed.error(), std::string(field) + ": " + parsed.status().message);
    return Path::root();
  }
  return std::move(parsed).value();
}

std::string Reader::bytes(const flatbuffers::Vector<std::uint8_t>* v) {
  if (v == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(v->data()), v->size());
}

std::string Reader::text(const flatbuffers::String* s) {
  if (s == nullptr) return {};
  return s->str();
}

std::optional<Fence> Reader::fence(const proto::Fence* f) {
  if (f == nullptr) return std::nullopt;
  return Fence{path(f->path(), "fence path"), Zxid{f->token()}};
}

NodeKind Reader::node_kind(proto::NodeKind kind) {
  const auto value = static_cast<std::uint8_t>(kind);
  if (value > node_kind_last) {
    fail("node kind " + std::to_string(value) + " is unknown");
    return NodeKind::persistent;
  }
  return static_cast<NodeKind>(value);
}

MissingParents Reader::parents(proto::MissingParents parents) {
  const auto value = static_cast<std::uint8_t>(parents);
  if (value > static_cast<std::uint8_t>(MissingParents::create_container)) {
    fail("missing-parents mode " + std::to_string(value) + " is unknown");
    return MissingParents::fail;
  }
  return static_cast<MissingParents>(value);
}

std::optional<std::int32_t> Reader::version(flatbuffers::Optional<std::int32_t> v) {
  if (!v.has_value()) return std::nullopt;
  return *v;
}

Op Reader::op(proto::Op type, const void* value) {
  if (type != proto::Op::NONE && !present(value, "op")) return CheckOp{};
  switch (type) {
    case proto::Op::CreateOp: return create(*static_cast<const proto::CreateOp*>(value));
    case proto::Op::DeleteOp: {
      const auto& t = *static_cast<const proto::DeleteOp*>(value);
      return DeleteOp{path(t.path(), "delete path"), version(t.expected_version())};
    }
    case proto::Op::SetOp: {
      const auto& t = *static_cast<const proto::SetOp*>(value);
      return SetOp{path(t.path(), "set path"), bytes(t.data()), version(t.expected_version())};
    }
    case proto::Op::CheckOp: {
      const auto& t = *static_cast<const proto::CheckOp*>(value);
      return CheckOp{path(t.path(), "check path"), version(t.expected_version())};
    }
    case proto::Op::NONE: fail("op is missing"); return CheckOp{};
  }
  fail("op kind " + std::to_string(static_cast<unsigned>(type)) + " is unknown");
  return CheckOp{};
}

std::vector<MultiOp> Reader::multi_ops(
    const flatbuffers::Vector<flatbuffers::Offset<proto::MultiOp>>* ops) {
  std::vector<MultiOp> out;
  if (ops == nullptr) return out;
  if (ops->size() > multi_ops_max) {
    fail("a multi of " + std::to_string(ops->size()) + " ops exceeds multi_ops_max (" +
         std::to_string(multi_ops_max) + ")");
    return out;
  }
  out.reserve(ops->size());
  for (const proto::MultiOp* m : *ops) {
    if (!present(m, "multi op")) return out;
    MultiOp decoded{op(m->op_type(), m->op()), fence(m->fence())};
    out.push_back(std::move(decoded));
  }
  return out;
}

flatbuffers::Offset<flatbuffers::Vector<std::uint8_t>> write_bytes(Builder& fbb,
                                                                   std::string_view bytes) {
  return fbb.CreateVector(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
}

flatbuffers::Offset<proto::Fence> write_fence(Builder& fbb, const std::optional<Fence>& fence) {
  if (!fence) return 0;
  const auto path = fbb.CreateString(fence->path.text());
  return proto::CreateFence(fbb, path, fence->token.value());
}

namespace {

flatbuffers::Optional<std::int32_t> write_version(const std::optional<std::int32_t>& v) {
  if (!v) return flatbuffers::nullopt;
  return *v;
}

}  // namespace

WrittenOp write_op(Builder& fbb, const Op& op) {
  if (const auto* c = std::get_if<CreateOp>(&op)) {
    const auto path = fbb.CreateString(c->path.text());
    const auto data = write_bytes(fbb, c->data);
    const auto t =
        proto::CreateCreateOp(fbb, path, data, static_cast<proto::NodeKind>(c->kind), c->sequential,
                              c->ttl_ms, static_cast<proto::MissingParents>(c->parents));
    return {proto::Op::CreateOp, t.Union()};
  }
  if (const auto* d = std::get_if<DeleteOp>(&op)) {
    const auto path = fbb.CreateString(d->path.text());
    return {proto::Op::DeleteOp,
            proto::CreateDeleteOp(fbb, path, write_version(d->expected_version)).Union()};
  }
  if (const auto* s = std::get_if<SetOp>(&op)) {
    const auto path = fbb.CreateString(s->path.text());
    const auto data = write_bytes(fbb, s->data);
    return {proto::Op::SetOp,
            proto::CreateSetOp(fbb, path, data, write_version(s->expected_version)).Union()};
  }
  const auto& k = std::get<CheckOp>(op);
  const auto path = fbb.CreateString(k.path.text());
  return {proto::Op::CheckOp,
          proto::CreateCheckOp(fbb, path, write_version(k.expected_version)).Union()};
}

flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<proto::MultiOp>>> write_multi_ops(
    Builder& fbb, const std::vector<MultiOp>& ops) {
  std::vector<flatbuffers::Offset<proto::MultiOp>> offsets;
  offsets.reserve(ops.size());
  for (const MultiOp& m : ops) {
    const WrittenOp op = write_op(fbb, m.op);
    const auto fence = write_fence(fbb, m.fence);
    offsets.push_back(proto::CreateMultiOp(fbb, op.type, op.value, fence));
  }
  return fbb.CreateVector(offsets);
}

proto::Stat write_stat(const Stat& s) {
  return proto::Stat(s.czxid.value(), s.mzxid.value(), s.pzxid.value(), s.ctime_ms, s.mtime_ms,
                     s.version, s.cversion, s.ephemeral_owner.value(), s.num_children,
                     s.data_length);
}

Stat read_stat(const proto::Stat& s) {
  Stat out;
  out.czxid = Zxid{s.czxid()};
  out.mzxid = Zxid{s.mzxid()};
  out.pzxid = Zxid{s.pzxid()};
  out.ctime_ms = s.ctime_ms();
  out.mtime_ms = s.mtime_ms();
  out.version = s.version();
  out.cversion = s.cversion();
  out.ephemeral_owner = SessionId{s.ephemeral_owner()};
  out.num_children = s.num_children();
  out.data_length = s.data_length();
  return out;
}

std::string finish_bytes(const Builder& fbb) {
  return std::string(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize());
}

}  // namespace synod::protocol::detail
