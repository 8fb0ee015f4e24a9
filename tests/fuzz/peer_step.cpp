// PeerStepper and the messages it is fed (peer_step.h).
#include "tests/fuzz/peer_step.h"

#include <limits>
#include <utility>

#include "base/assert.h"
#include "base/little_endian.h"
#include "consensus/invariants.h"
#include "consensus/limits.h"
#include "server/codec/peer.h"

namespace synod::fuzz {

namespace {

using namespace consensus;

Options stepper_options() {
  Options o;
  o.self = NodeId{1};
  o.election_ticks = 10;
  o.heartbeat_ticks = 2;
  o.accept_bytes_max = 2048;  // small, so Promises and Accepts come in pages
  o.snapshot_chunk_bytes_max = 64;
  return o;
}

Durable stepper_durable() {
  Durable d;
  d.snapshot = Snapshot{Slot{0}, Configuration{{NodeId{1}, NodeId{2}, NodeId{3}}, {}},
                        std::make_shared<const std::string>("state")};
  const Ballot b{1, NodeId{2}};
  d.promised = b;
  d.log = {{Slot{1}, b, Entry::command("a")},
           {Slot{2}, b, Entry::command(std::string(1500, 'b'))},
           {Slot{3}, b, Entry::command("c")}};
  d.chosen = Slot{1};
  return d;
}

constexpr std::uint64_t u64_max = std::numeric_limits<std::uint64_t>::max();

std::uint64_t draw_round(base::Prng& prng, const Core& core) {
  const std::uint64_t r = core.promised().round;
  const std::uint64_t picks[] = {0, 1, r, r + 1, r + 2, round_limit - 1, round_limit, u64_max};
  return prng.chance(1, 8) ? prng.next_u64() : picks[prng.below(std::size(picks))];
}

Ballot draw_ballot(base::Prng& prng, const Core& core, NodeId from) {
  if (prng.chance(1, 3)) return core.promised();
  return Ballot{draw_round(prng, core), prng.chance(3, 4) ? from : draw_sender(prng)};
}

Slot draw_slot(base::Prng& prng, const Core& core) {
  const std::uint64_t c = core.chosen().value(), e = core.log_end().value();
  const std::uint64_t picks[] = {
      0, 1, c, c + 1, e, e + 1, e + 2, e + 9, slot_limit - 1, slot_limit, u64_max};
  return Slot{prng.chance(1, 10) ? prng.below(64) : picks[prng.below(std::size(picks))]};
}

Configuration draw_config(base::Prng& prng) {
  Configuration c{{NodeId{1}, NodeId{2}, NodeId{3}}, {}};
  switch (prng.below(4)) {
    case 0: c.learners.push_back(NodeId{4}); break;
    case 1: c.voters = {NodeId{3}, NodeId{1}}; break;  // unsorted: invalid
    case 2: c.learners.push_back(NodeId{2}); break;    // voter and learner: invalid
    default: break;
  }
  return c;
}

Entry draw_entry(base::Prng& prng) {
  switch (prng.below(6)) {
    case 0: return Entry::noop();
    case 1: return Entry{EntryKind::noop, "junk", {}};
    case 2: return Entry::reconfig(draw_config(prng));
    case 3: return Entry{static_cast<EntryKind>(3 + prng.below(250)), "x", {}};
    case 4: return Entry::command(std::string(prng.range(0, 3000), 'z'));
    default: return Entry::command("w" + std::to_string(prng.below(4)));
  }
}

std::vector<Entry> draw_entries(base::Prng& prng) {
  std::vector<Entry> out(static_cast<std::size_t>(prng.below(5)));
  for (Entry& e : out) e = draw_entry(prng);
  return out;
}

// A page that usually chains honestly from `from`, sometimes not.
Promise draw_promise(base::Prng& prng, const Core& core, NodeId from) {
  Promise m{draw_ballot(prng, core, NodeId{1}),
            draw_slot(prng, core),
            prng.chance(3, 4),
            draw_ballot(prng, core, from),
            draw_slot(prng, core),
            draw_slot(prng, core),
            {}};
  if (prng.chance(1, 2)) m.from = next(core.chosen());
  if (prng.chance(1, 2)) m.log_start = Slot{1};
  Slot s = prng.chance(4, 5) ? m.from : draw_slot(prng, core);
  for (Entry& e : draw_entries(prng)) {
    m.entries.push_back({s, draw_ballot(prng, core, from), std::move(e), prng.chance(1, 4)});
    s = Slot{s.value() + 1};
  }
  if (prng.chance(1, 3)) m.more_from = prng.chance(3, 4) ? s : draw_slot(prng, core);
  return m;
}

SnapshotChunk draw_chunk(base::Prng& prng, const Core& core, NodeId from) {
  SnapshotChunk m{
      draw_ballot(prng, core, from),      draw_slot(prng, core), draw_config(prng), 0, 0,
      std::string(prng.range(0, 40), 's')};
  const std::uint64_t offsets[] = {0, 8, 40, u64_max - 4};
  m.offset = offsets[prng.below(std::size(offsets))];
  m.total_bytes = prng.chance(1, 2) ? m.offset + m.data.size() : prng.below(200);
  return m;
}

}  // namespace

NodeId draw_sender(base::Prng& prng) {
  const std::uint32_t picks[] = {2, 2, 3, 3, 4, 0, 1, node_id_max};
  return NodeId{picks[prng.below(std::size(picks))]};
}

Message draw_message(base::Prng& prng, const Core& core) {
  const NodeId from{static_cast<std::uint32_t>(prng.range(2, 3))};
  auto ballot = [&] { return draw_ballot(prng, core, from); };
  auto slot = [&] { return draw_slot(prng, core); };
  switch (prng.below(std::variant_size_v<Message>)) {
    case 0: return PreVote{ballot(), slot()};
    case 1: return PreVoteReply{ballot(), prng.chance(1, 2), ballot()};
    case 2: return Prepare{ballot(), slot(), prng.chance(1, 4)};
    case 3: return draw_promise(prng, core, from);
    case 4: return Accept{ballot(), slot(), draw_entries(prng), slot(), prng.below(8)};
    case 5:
      return Accepted{ballot(), prng.chance(3, 4), ballot(),     slot(),
                      slot(),   prng.chance(1, 4), prng.below(8)};
    case 6: return draw_chunk(prng, core, from);
    case 7:
      return SnapshotAck{ballot(), prng.chance(3, 4), ballot(),
                         slot(),   prng.below(100),   prng.chance(1, 2)};
    case 8: return TimeoutNow{ballot()};
    case 9: return Forward{draw_entries(prng)};
    case 10: return Touch{{prng.next_u64(), 7}};
    case 11: return ReadIndex{prng.below(4), {prng.next_u64()}, prng.next_u64()};
    default: return ReadIndexReply{prng.below(4), prng.chance(1, 2), slot(), prng.next_u64()};
  }
}

PeerStepper::PeerStepper(std::uint64_t seed)
    : prng_(seed), core_(std::make_unique<Core>(stepper_options(), stepper_durable(), prng_)) {
  drain(facts_of(*core_));
}

void PeerStepper::step_frame(std::string_view frame) {
  auto envelope = codec::decode_envelope(frame);
  if (!envelope.ok()) return;
  step(envelope.value().from, envelope.value().message);
}

void PeerStepper::step(NodeId from, const Message& message) {
  const CoreFacts before = facts_of(*core_);
  core_->step(from, message);
  drain(before);
}

void PeerStepper::tick() {
  const CoreFacts before = facts_of(*core_);
  core_->tick();
  drain(before);
}

void PeerStepper::answer_as_peer() {
  const NodeId peer{2};
  for (const Envelope& e : take_sent()) {
    if (e.to != peer) continue;
    if (const auto* pv = std::get_if<PreVote>(&e.message)) {
      step(peer, PreVoteReply{pv->ballot, true, pv->ballot});
    } else if (const auto* p = std::get_if<Prepare>(&e.message)) {
      step(peer, Promise{p->ballot, p->from, true, p->ballot, Slot{1}, Slot{0}, {}});
    } else if (const auto* a = std::get_if<Accept>(&e.message)) {
      const Slot frontier{a->first.value() + a->entries.size() - 1};
      step(peer, Accepted{a->ballot, true, a->ballot, frontier, Slot{0}, false, a->read_seq});
    }
  }
}

void PeerStepper::make_leader() {
  for (int i = 0; i < 200 && !core_->is_leader(); ++i) {
    tick();
    answer_as_peer();
  }
  SYNOD_ASSERT_MSG(core_->is_leader(), "honest replies elect node 1");
}

void PeerStepper::follow(NodeId leader, Ballot ballot) {
  step(leader, Accept{ballot, next(core_->chosen()), {}, core_->chosen(), 0});
}

std::vector<Envelope> PeerStepper::take_sent() { return std::exchange(sent_, {}); }

void PeerStepper::drain(const CoreFacts& before) {
  while (core_->has_output()) {
    Output out = core_->take_output();
    for (auto* batch : {&out.send_now, &out.send_after_persist}) {
      for (Envelope& e : *batch) {
        check_sent(e);
        if (sent_.size() < 4096) sent_.push_back(std::move(e));
      }
    }
    core_->on_persisted(out.persist_token);
  }
  if (failure_) return;
  if (auto broken = check_basic(*core_)) failure_ = *broken;
  if (auto broken = check_delta(before, *core_); broken && !failure_) failure_ = *broken;
}

void PeerStepper::check_sent(const Envelope& envelope) {
  const std::size_t bytes = codec::encode_envelope(envelope).size();
  if (bytes <= peer_frame_bytes_max || failure_) return;
  failure_ = node_name(envelope.from) + " sent a " + message_name(envelope.message) + " of " +
             std::to_string(bytes) + " bytes, over peer_frame_bytes_max";
}

std::optional<std::string> run_peer_input(std::span<const std::uint8_t> bytes) {
  std::uint64_t seed = 0;
  for (std::size_t i = 0; i < 8 && i < bytes.size(); ++i)
    seed |= std::uint64_t{bytes[i]} << (8 * i);
  bytes = bytes.subspan(std::min<std::size_t>(8, bytes.size()));
  PeerStepper stepper(seed);
  while (bytes.size() >= 4 && !stepper.failure()) {
    const auto length = base::load_le<std::uint32_t>(bytes.data());
    bytes = bytes.subspan(4);
    if ((length & 0x8000'0000u) != 0) {
      stepper.tick();
      continue;
    }
    const std::size_t n = std::min<std::size_t>(length, bytes.size());
    stepper.step_frame(std::string_view(reinterpret_cast<const char*>(bytes.data()), n));
    bytes = bytes.subspan(n);
  }
  return stepper.failure();
}

std::vector<std::string> peer_seed_inputs() {
  std::vector<std::string> inputs;
  for (std::uint64_t seed = 1; seed <= 4; ++seed) {
    std::string input;
    base::put_u64(input, seed);
    base::Prng prng(seed);
    PeerStepper stepper(seed);
    for (int i = 0; i < 24; ++i) {
      const bool tick = prng.chance(1, 4);
      const std::string frame = tick ? std::string()
                                     : codec::encode_envelope({draw_sender(prng), NodeId{1},
                                                               draw_message(prng, stepper.core())});
      base::put_u32(input, tick ? 0x8000'0000u : static_cast<std::uint32_t>(frame.size()));
      input += frame;
    }
    inputs.push_back(std::move(input));
  }
  return inputs;
}

}  // namespace synod::fuzz
