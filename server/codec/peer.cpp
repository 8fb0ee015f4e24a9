#include "server/codec/peer.h"

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

#include "proto/peer_generated.h"
#include "protocol/frame.h"

namespace synod::codec {

namespace detail = protocol::detail;

namespace {

using detail::Builder;
using detail::Reader;
namespace fb = flatbuffers;

// ---- Encoding consensus messages ----

struct WrittenMessage {
  proto::PeerMessage type = proto::PeerMessage::NONE;
  fb::Offset<void> value;
};

proto::Ballot write_ballot(Ballot b) { return proto::Ballot(b.round, b.node.value()); }

fb::Offset<fb::Vector<std::uint32_t>> write_ids(Builder& fbb, const std::vector<NodeId>& ids) {
  std::vector<std::uint32_t> raw;
  raw.reserve(ids.size());
  for (NodeId id : ids) raw.push_back(id.value());
  return fbb.CreateVector(raw);
}

fb::Offset<proto::Configuration> write_config(Builder& fbb, const consensus::Configuration& c) {
  const auto voters = write_ids(fbb, c.voters);
  const auto learners = write_ids(fbb, c.learners);
  return proto::CreateConfiguration(fbb, voters, learners);
}

fb::Offset<proto::Entry> write_entry(Builder& fbb, const consensus::Entry& e) {
  fb::Offset<fb::Vector<std::uint8_t>> data = 0;
  fb::Offset<proto::Configuration> config = 0;
  if (e.kind != consensus::EntryKind::noop && !e.data.empty()) {
    data = detail::write_bytes(fbb, e.data);
  }
  if (e.kind == consensus::EntryKind::config) config = write_config(fbb, e.config);
  return proto::CreateEntry(fbb, static_cast<proto::EntryKind>(e.kind), data, config);
}

WrittenMessage write(Builder& fbb, const consensus::PreVote& m) {
  const auto ballot = write_ballot(m.ballot);
  return {proto::PeerMessage::PreVote,
          proto::CreatePreVote(fbb, &ballot, m.chosen.value()).Union()};
}

WrittenMessage write(Builder& fbb, const consensus::PreVoteReply& m) {
  const auto ballot = write_ballot(m.ballot);
  const auto promised = write_ballot(m.promised);
  return {proto::PeerMessage::PreVoteReply,
          proto::CreatePreVoteReply(fbb, &ballot, m.granted, &promised).Union()};
}

WrittenMessage write(Builder& fbb, const consensus::Prepare& m) {
  const auto ballot = write_ballot(m.ballot);
  return {proto::PeerMessage::Prepare,
          proto::CreatePrepare(fbb, &ballot, m.from.value(), m.transfer).Union()};
}

WrittenMessage write(Builder& fbb, const consensus::Promise& m) {
  std::vector<fb::Offset<proto::PromiseEntry>> entries;
  entries.reserve(m.entries.size());
  for (const consensus::PromiseEntry& pe : m.entries) {
    const auto entry = write_entry(fbb, pe.entry);
    const auto ballot = write_ballot(pe.ballot);
    entries.push_back(proto::CreatePromiseEntry(fbb, pe.slot.value(), &ballot, entry, pe.chosen));
  }
  const auto vector = fbb.CreateVector(entries);
  const auto ballot = write_ballot(m.ballot);
  const auto promised = write_ballot(m.promised);
  return {proto::PeerMessage::Promise,
          proto::CreatePromise(fbb, &ballot, m.from.value(), m.granted, &promised,
                               m.log_start.value(), m.chosen.value(), vector, m.more_from.value())
              .Union()};
}

WrittenMessage write(Builder& fbb, const consensus::Accept& m) {
  std::vector<fb::Offset<proto::Entry>> entries;
  entries.reserve(m.entries.size());
  for (const consensus::Entry& e : m.entries) entries.push_back(write_entry(fbb, e));
  const auto vector = fbb.CreateVector(entries);
  const auto ballot = write_ballot(m.ballot);
  return {proto::PeerMessage::Accept,
          proto::CreateAccept(fbb, &ballot, m.first.value(), vector, m.chosen.value(), m.read_seq)
              .Union()};
}

WrittenMessage write(Builder& fbb, const consensus::Accepted& m) {
  const auto ballot = write_ballot(m.ballot);
  const auto promised = write_ballot(m.promised);
  return {proto::PeerMessage::Accepted,
          proto::CreateAccepted(fbb, &ballot, m.granted, &promised, m.frontier.value(),
                                m.chosen.value(), m.gap, m.read_seq)
              .Union()};
}

WrittenMessage write(Builder& fbb, const consensus::SnapshotChunk& m) {
  const auto config = write_config(fbb, m.config);
  const auto data = detail::write_bytes(fbb, m.data);
  const auto ballot = write_ballot(m.ballot);
  return {proto::PeerMessage::SnapshotChunk,
          proto::CreateSnapshotChunk(fbb, &ballot, m.slot.value(), config, m.offset,
                                     m.total_bytes, data)
              .Union()};
}

WrittenMessage write(Builder& fbb, const consensus::SnapshotAck& m) {
  const auto ballot = write_ballot(m.ballot);
  const auto promised = write_ballot(m.promised);
  return {proto::PeerMessage::SnapshotAck,
          proto::CreateSnapshotAck(fbb, &ballot, m.granted, &promised, m.slot.value(),
                                   m.next_offset, m.installed)
              .Union()};
}

WrittenMessage write(Builder& fbb, const consensus::TimeoutNow& m) {
  const auto ballot = write_ballot(m.ballot);
  return {proto::PeerMessage::TimeoutNow, proto::CreateTimeoutNow(fbb, &ballot).Union()};
}

WrittenMessage write(Builder& fbb, const consensus::Forward& m) {
  std::vector<fb::Offset<proto::Entry>> entries;
  entries.reserve(m.entries.size());
  for (const consensus::Entry& e : m.entries) entries.push_back(write_entry(fbb, e));
  const auto vector = fbb.CreateVector(entries);
  return {proto::PeerMessage::Forward, proto::CreateForward(fbb, vector).Union()};
}

WrittenMessage write(Builder& fbb, const consensus::Touch& m) {
  const auto sessions = fbb.CreateVector(m.sessions);
  return {proto::PeerMessage::Touch, proto::CreateTouch(fbb, sessions).Union()};
}

WrittenMessage write(Builder& fbb, const consensus::ReadIndex& m) {
  const auto sessions = fbb.CreateVector(m.sessions);
  return {proto::PeerMessage::ReadIndex,
          proto::CreateReadIndex(fbb, m.id, sessions, m.nonce, m.vouches).Union()};
}

WrittenMessage write(Builder& fbb, const consensus::ReadIndexReply& m) {
  return {proto::PeerMessage::ReadIndexReply,
          proto::CreateReadIndexReply(fbb, m.id, m.ok, m.index.value(), m.nonce).Union()};
}

std::string write_frame(const consensus::Message& message, NodeId from, NodeId to,
                        std::uint64_t cluster) {
  Builder fbb(256);
  const WrittenMessage written =
      std::visit([&](const auto& m) { return write(fbb, m); }, message);
  fbb.Finish(
      proto::CreatePeerFrame(fbb, written.type, written.value, from.value(), to.value(), cluster));
  return detail::finish_bytes(fbb);
}

// ---- Decoding consensus messages ----

NodeId read_node(Reader& r, std::uint32_t raw, std::string_view field) {
  if (raw > node_id_max) {
    r.fail(std::string(field) + " " + std::to_string(raw) + " is above node_id_max");
    return no_node;
  }
  return NodeId{raw};
}

Ballot read_ballot(Reader& r, const proto::Ballot* b, std::string_view field) {
  if (!r.present(b, field)) return Ballot{};
  return Ballot{b->round(), read_node(r, b->node(), std::string(field) + " node")};
}

std::vector<NodeId> read_ids(Reader& r, const fb::Vector<std::uint32_t>* raw,
                             std::string_view field) {
  std::vector<NodeId> ids;
  if (raw == nullptr) return ids;
  if (raw->size() > node_id_max) {
    r.fail(std::string(field) + " lists more than node_id_max servers");
    return ids;
  }
  ids.reserve(raw->size());
  for (std::uint32_t id : *raw) ids.push_back(read_node(r, id, field));
  return ids;
}

consensus::Configuration read_config(Reader& r, const proto::Configuration* c) {
  consensus::Configuration config;
  if (!r.present(c, "configuration")) return config;
  config.voters = read_ids(r, c->voters(), "voter");
  config.learners = read_ids(r, c->learners(), "learner");
  if (r.ok() && !config.valid()) {
    r.fail("configuration " + consensus::to_string(config) +
           " is not sorted, unique and disjoint with nonzero voters");
  }
  return config;
}

consensus::Entry read_entry(Reader& r, const proto::Entry* e) {
  if (!r.present(e, "entry")) return consensus::Entry::noop();
  switch (e->kind()) {
    case proto::EntryKind::noop:
      if (e->data() != nullptr || e->config() != nullptr) r.fail("a no-op entry carries a value");
      return consensus::Entry::noop();
    case proto::EntryKind::command:
      if (e->config() != nullptr) r.fail("a command entry carries a configuration");
      return consensus::Entry::command(Reader::bytes(e->data()));
    case proto::EntryKind::config:
      return consensus::Entry::reconfig(read_config(r, e->config()), Reader::bytes(e->data()));
  }
  r.fail("entry kind " + std::to_string(static_cast<unsigned>(e->kind())) + " is unknown");
  return consensus::Entry::noop();
}

consensus::Message read(Reader& r, const proto::PreVote& m) {
  return consensus::PreVote{read_ballot(r, m.ballot(), "ballot"), Slot{m.chosen()}};
}

consensus::Message read(Reader& r, const proto::PreVoteReply& m) {
  return consensus::PreVoteReply{read_ballot(r, m.ballot(), "ballot"), m.granted(),
                                 read_ballot(r, m.promised(), "promised")};
}

consensus::Message read(Reader& r, const proto::Prepare& m) {
  return consensus::Prepare{read_ballot(r, m.ballot(), "ballot"), Slot{m.from()}, m.transfer()};
}

consensus::Message read(Reader& r, const proto::Promise& m) {
  consensus::Promise out;
  out.ballot = read_ballot(r, m.ballot(), "ballot");
  out.from = Slot{m.from()};
  out.granted = m.granted();
  out.promised = read_ballot(r, m.promised(), "promised");
  out.log_start = Slot{m.log_start()};
  out.chosen = Slot{m.chosen()};
  out.more_from = Slot{m.more_from()};
  if (m.entries() != nullptr) {
    out.entries.reserve(m.entries()->size());
    for (const proto::PromiseEntry* pe : *m.entries()) {
      if (!r.present(pe, "promise entry") || !r.ok()) break;
      out.entries.push_back(consensus::PromiseEntry{Slot{pe->slot()},
                                                    read_ballot(r, pe->ballot(), "entry ballot"),
                                                    read_entry(r, pe->entry()), pe->chosen()});
    }
  }
  return out;
}

std::vector<consensus::Entry> read_entries(Reader& r,
                                           const fb::Vector<fb::Offset<proto::Entry>>* entries) {
  std::vector<consensus::Entry> out;
  if (entries == nullptr) return out;
  out.reserve(entries->size());
  for (const proto::Entry* e : *entries) {
    if (!r.ok()) break;
    out.push_back(read_entry(r, e));
  }
  return out;
}

consensus::Message read(Reader& r, const proto::Accept& m) {
  consensus::Accept out;
  out.ballot = read_ballot(r, m.ballot(), "ballot");
  out.first = Slot{m.first()};
  out.entries = read_entries(r, m.entries());
  out.chosen = Slot{m.chosen()};
  out.read_seq = m.read_seq();
  return out;
}

consensus::Message read(Reader& r, const proto::Accepted& m) {
  return consensus::Accepted{read_ballot(r, m.ballot(), "ballot"),
                             m.granted(),
                             read_ballot(r, m.promised(), "promised"),
                             Slot{m.frontier()},
                             Slot{m.chosen()},
                             m.gap(),
                             m.read_seq()};
}

consensus::Message read(Reader& r, const proto::SnapshotChunk& m) {
  consensus::SnapshotChunk out;
  out.ballot = read_ballot(r, m.ballot(), "ballot");
  out.slot = Slot{m.slot()};
  out.config = read_config(r, m.config());
  out.offset = m.offset();
  out.total_bytes = m.total_bytes();
  out.data = Reader::bytes(m.data());
  // offset + size cannot overflow: size is below frame_bytes_max.
  if (out.offset > out.total_bytes || out.data.size() > out.total_bytes - out.offset) {
    r.fail("snapshot chunk [" + std::to_string(out.offset) + ", +" +
           std::to_string(out.data.size()) + ") ends past total_bytes " +
           std::to_string(out.total_bytes));
  }
  return out;
}

consensus::Message read(Reader& r, const proto::SnapshotAck& m) {
  return consensus::SnapshotAck{read_ballot(r, m.ballot(), "ballot"),
                                m.granted(),
                                read_ballot(r, m.promised(), "promised"),
                                Slot{m.slot()},
                                m.next_offset(),
                                m.installed()};
}

consensus::Message read(Reader& r, const proto::TimeoutNow& m) {
  return consensus::TimeoutNow{read_ballot(r, m.ballot(), "ballot")};
}

consensus::Message read(Reader& r, const proto::Forward& m) {
  return consensus::Forward{read_entries(r, m.entries())};
}

consensus::Message read(Reader&, const proto::Touch& m) {
  consensus::Touch out;
  if (m.sessions() == nullptr) return out;
  out.sessions.reserve(m.sessions()->size());
  for (fb::uoffset_t i = 0; i < m.sessions()->size(); ++i) {
    out.sessions.push_back(detail::load_element<std::uint64_t>(*m.sessions(), i));
  }
  return out;
}

consensus::Message read(Reader&, const proto::ReadIndex& m) {
  consensus::ReadIndex out{m.id(), {}, m.nonce(), m.vouches()};
  if (m.sessions() == nullptr) return out;
  out.sessions.reserve(m.sessions()->size());
  for (fb::uoffset_t i = 0; i < m.sessions()->size(); ++i) {
    out.sessions.push_back(detail::load_element<std::uint64_t>(*m.sessions(), i));
  }
  return out;
}

consensus::Message read(Reader&, const proto::ReadIndexReply& m) {
  return consensus::ReadIndexReply{m.id(), m.ok(), Slot{m.index()}, m.nonce()};
}

template <class T>
consensus::Message read_as(Reader& r, const void* value) {
  if (!r.present(value, "message body")) return consensus::TimeoutNow{};
  return read(r, *static_cast<const T*>(value));
}

consensus::Message read_message(Reader& r, const proto::PeerFrame& frame) {
  const void* v = frame.message();
  switch (frame.message_type()) {
    case proto::PeerMessage::PreVote: return read_as<proto::PreVote>(r, v);
    case proto::PeerMessage::PreVoteReply: return read_as<proto::PreVoteReply>(r, v);
    case proto::PeerMessage::Prepare: return read_as<proto::Prepare>(r, v);
    case proto::PeerMessage::Promise: return read_as<proto::Promise>(r, v);
    case proto::PeerMessage::Accept: return read_as<proto::Accept>(r, v);
    case proto::PeerMessage::Accepted: return read_as<proto::Accepted>(r, v);
    case proto::PeerMessage::SnapshotChunk: return read_as<proto::SnapshotChunk>(r, v);
    case proto::PeerMessage::SnapshotAck: return read_as<proto::SnapshotAck>(r, v);
    case proto::PeerMessage::TimeoutNow: return read_as<proto::TimeoutNow>(r, v);
    case proto::PeerMessage::Forward: return read_as<proto::Forward>(r, v);
    case proto::PeerMessage::Touch: return read_as<proto::Touch>(r, v);
    case proto::PeerMessage::ReadIndex: return read_as<proto::ReadIndex>(r, v);
    case proto::PeerMessage::ReadIndexReply: return read_as<proto::ReadIndexReply>(r, v);
    case proto::PeerMessage::NONE: r.fail("the frame holds no message"); return {};
  }
  r.fail("message kind " + std::to_string(static_cast<unsigned>(frame.message_type())) +
         " is unknown (a newer peer?)");
  return {};
}

// Size check, alignment, verifier: the frame's root, or a failure in `r`.
const proto::PeerFrame* verified_frame(Reader& r, const detail::AlignedBytes& aligned) {
  if (!detail::verify_root<proto::PeerFrame>(aligned)) {
    r.fail("the FlatBuffers verifier rejected " + std::to_string(aligned.size()) + " bytes");
    return nullptr;
  }
  return fb::GetRoot<proto::PeerFrame>(aligned.data());
}

}  // namespace

std::string encode_peer(const consensus::Message& message) {
  return write_frame(message, no_node, no_node, 0);
}

std::string encode_envelope(const consensus::Envelope& envelope, std::uint64_t cluster) {
  return write_frame(envelope.message, envelope.from, envelope.to, cluster);
}

Result<consensus::Message> decode_peer(std::string_view bytes) {
  if (Status size = detail::check_frame_size(bytes, "peer frame"); !size.ok()) return size;
  const detail::AlignedBytes aligned(bytes);
  Reader r("peer frame");
  const proto::PeerFrame* frame = verified_frame(r, aligned);
  if (frame == nullptr) return r.status();
  consensus::Message message = read_message(r, *frame);
  if (!r.ok()) return r.status();
  return message;
}

Result<consensus::Envelope> decode_envelope(std::string_view bytes) {
  auto addressed = decode_addressed(bytes);
  if (!addressed.ok()) return addressed.status();
  return std::move(addressed.value().envelope);
}

Result<Addressed> decode_addressed(std::string_view bytes) {
  if (Status size = detail::check_frame_size(bytes, "peer frame"); !size.ok()) return size;
  const detail::AlignedBytes aligned(bytes);
  Reader r("peer frame");
  const proto::PeerFrame* frame = verified_frame(r, aligned);
  if (frame == nullptr) return r.status();
  consensus::Envelope envelope{read_node(r, frame->from(), "sender"),
                               read_node(r, frame->to(), "addressee"), read_message(r, *frame)};
  if (r.ok() && (envelope.from == no_node || envelope.to == no_node)) {
    r.fail("the envelope lacks its sender or addressee");
  }
  if (!r.ok()) return r.status();
  return Addressed{std::move(envelope), frame->cluster()};
}

std::string encode_link_heartbeat(const LinkHeartbeat& heartbeat) {
  Builder fbb(64);
  fbb.Finish(proto::CreatePeerFrame(fbb, proto::PeerMessage::NONE, 0, heartbeat.from.value(),
                                    heartbeat.to.value(), heartbeat.cluster));
  return detail::finish_bytes(fbb);
}

std::optional<LinkHeartbeat> decode_link_heartbeat(std::string_view bytes) {
  if (!detail::check_frame_size(bytes, "peer frame").ok()) return std::nullopt;
  const detail::AlignedBytes aligned(bytes);
  Reader r("peer frame");
  const proto::PeerFrame* frame = verified_frame(r, aligned);
  if (frame == nullptr || frame->message_type() != proto::PeerMessage::NONE) return std::nullopt;
  const LinkHeartbeat heartbeat{read_node(r, frame->from(), "sender"),
                                read_node(r, frame->to(), "addressee"), frame->cluster()};
  if (!r.ok() || heartbeat.from == no_node || heartbeat.to == no_node) return std::nullopt;
  return heartbeat;
}

}  // namespace synod::codec
