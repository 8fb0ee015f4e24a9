// Shared by the codecs (protocol/ for client frames, server/codec/ for peer
// frames and log entries): the two halves every codec file uses.
//
//   Reader  turns verified FlatBuffers tables into our types. It keeps the
//           first failure as a Status and returns a harmless default after
//           it, so decoders read straight down and check ok() once at the
//           end. Nothing here asserts on frame contents: they come from the
//           network (DESIGN.md, "Wire protocol").
//   write_* build tables for our values inside a FlatBufferBuilder.
//
// Not an API for anyone but a codec: include protocol/codec.h (or
// server/codec/peer.h) instead.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proto/store_generated.h"
#include "protocol/error.h"
#include "protocol/limits.h"
#include "protocol/ops.h"
#include "protocol/types.h"

namespace synod::protocol::detail {

// Holds a frame's bytes at an 8-byte aligned address, copying them only when
// `bytes` is not aligned already (FlatBuffers reads scalars in place).
class AlignedBytes {
 public:
  explicit AlignedBytes(std::string_view bytes);
  [[nodiscard]] const std::uint8_t* data() const { return data_; }
  [[nodiscard]] std::size_t size() const { return size_; }

 private:
  std::vector<std::uint64_t> copy_;
  const std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
};

// TOO_LARGE when bytes exceed frame_bytes_max; BAD_ARGUMENTS when they are
// shorter than any FlatBuffer can be.
[[nodiscard]] Status check_frame_size(std::string_view bytes, std::string_view frame);

// Runs the FlatBuffers verifier with the codec's limits over `bytes` as a
// buffer whose root is a T.
template <class T>
[[nodiscard]] bool verify_root(const AlignedBytes& bytes) {
  flatbuffers::Verifier::Options options;
  options.max_depth = verifier_depth_max;
  options.max_tables = verifier_tables_max;
  options.check_alignment = true;
  flatbuffers::Verifier verifier(bytes.data(), bytes.size(), options);
  return verifier.VerifyBuffer<T>(nullptr);
}

// Element i of a vector of 8-byte scalars or structs, copied out. The
// FlatBuffers 2.0 verifier checks a vector's alignment only to 4 bytes, so a
// damaged frame can place 8-byte elements misaligned; reading them in place
// would be undefined behaviour.
template <class T, class V>
[[nodiscard]] T load_element(const V& vector, flatbuffers::uoffset_t i) {
  T out;
  std::memcpy(static_cast<void*>(&out), vector.Data() + std::size_t{i} * sizeof(T), sizeof(T));
  return out;
}

class Reader {
 public:
  // `frame` names the frame in messages: "peer frame", "client frame".
  explicit Reader(std::string_view frame) : frame_(frame) {}

  [[nodiscard]] bool ok() const { return status_.ok(); }
  [[nodiscard]] const Status& status() const { return status_; }
  // Records "malformed <frame>: <what>" (BAD_ARGUMENTS) unless a failure is
  // already recorded; the first one wins.
  void fail(std::string_view what) { fail_with(Error::BAD_ARGUMENTS, what); }
  void fail_with(Error error, std::string_view what);

  // Fails with "<field> is missing" when p is null; returns p != nullptr.
  bool present(const void* p, std::string_view field);

  [[nodiscard]] Path path(const flatbuffers::String* text, std::string_view field);
  // Absent bytes or text read as empty.
  [[nodiscard]] static std::string bytes(const flatbuffers::Vector<std::uint8_t>* v);
  [[nodiscard]] static std::string text(const flatbuffers::String* s);
  [[nodiscard]] std::optional<Fence> fence(const proto::Fence* f);
  [[nodiscard]] Op op(proto::Op type, const void* value);
  [[nodiscard]] std::vector<MultiOp> multi_ops(
      const flatbuffers::Vector<flatbuffers::Offset<proto::MultiOp>>* ops);
  [[nodiscard]] NodeKind node_kind(proto::NodeKind kind);
  [[nodiscard]] MissingParents parents(proto::MissingParents parents);
  [[nodiscard]] std::optional<std::int32_t> version(flatbuffers::Optional<std::int32_t> v);

  // The fields of a create, from a CreateOp or a CreateRequest (same names).
  template <class Table>
  [[nodiscard]] CreateOp create(const Table& t) {
    CreateOp op;
    op.path = path(t.path(), "create path");
    op.data = bytes(t.data());
    op.kind = node_kind(t.kind());
    op.sequential = t.sequential();
    op.ttl_ms = t.ttl_ms();
    op.parents = parents(t.parents());
    return op;
  }

 private:
  std::string_view frame_;
  Status status_;
};

using Builder = flatbuffers::FlatBufferBuilder;

[[nodiscard]] flatbuffers::Offset<flatbuffers::Vector<std::uint8_t>> write_bytes(
    Builder& fbb, std::string_view bytes);
[[nodiscard]] flatbuffers::Offset<proto::Fence> write_fence(Builder& fbb,
                                                            const std::optional<Fence>& fence);
struct WrittenOp {
  proto::Op type = proto::Op::NONE;
  flatbuffers::Offset<void> value;
};
[[nodiscard]] WrittenOp write_op(Builder& fbb, const Op& op);
[[nodiscard]] flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<proto::MultiOp>>>
write_multi_ops(Builder& fbb, const std::vector<MultiOp>& ops);
[[nodiscard]] proto::Stat write_stat(const Stat& stat);
[[nodiscard]] Stat read_stat(const proto::Stat& stat);
// The finished buffer, copied out.
[[nodiscard]] std::string finish_bytes(const Builder& fbb);

}  // namespace synod::protocol::detail
