// Strong identifier types. A slot cannot be passed where a round is expected
// (STYLE.md habit 3). Each is a thin, totally ordered wrapper over an
// unsigned integer; arithmetic is explicit through value().
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <string>

namespace synod {

template <class Tag, class Rep>
class StrongId {
 public:
  using rep_type = Rep;
  constexpr StrongId() = default;
  constexpr explicit StrongId(Rep value) : value_(value) {}
  [[nodiscard]] constexpr Rep value() const { return value_; }
  constexpr auto operator<=>(const StrongId&) const = default;

 private:
  Rep value_{};
};

// A server in the ensemble, 1..node_id_max. 0 means "none".
using NodeId = StrongId<struct NodeIdTag, std::uint32_t>;
// A position in the replicated log, from 1. 0 means "before the first slot".
using Slot = StrongId<struct SlotTag, std::uint64_t>;
// A zxid is the slot of the log entry that made a change: one global revision.
using Zxid = StrongId<struct ZxidTag, std::uint64_t>;
// A client session, assigned from the slot of the entry that opened it.
using SessionId = StrongId<struct SessionIdTag, std::uint64_t>;

// A session's 128-bit secret (ZooKeeper's session password): drawn at random
// when the session opens, told only to its client, required to move it. Zero
// only for a session opened before secrets existed.
struct SessionSecret {
  std::uint64_t high = 0;
  std::uint64_t low = 0;
  constexpr auto operator<=>(const SessionSecret&) const = default;
};

inline constexpr NodeId no_node{0};
inline constexpr std::uint32_t node_id_max = 1u << 16;

[[nodiscard]] constexpr Slot next(Slot slot) { return Slot{slot.value() + 1}; }
[[nodiscard]] constexpr Slot prev(Slot slot) { return Slot{slot.value() - 1}; }

// A ballot (round, node): totally ordered, by round first. Only `node` may
// lead at this ballot, so two leaders never share one (consensus/README.md).
struct Ballot {
  std::uint64_t round = 0;
  NodeId node{};
  constexpr auto operator<=>(const Ballot&) const = default;
  [[nodiscard]] constexpr bool is_zero() const { return round == 0 && node == no_node; }
};

// "node 3": how logs and checkers name a server.
// Both append to one string rather than writing "(" + std::to_string(...):
// at -O3 (the quickstart's Release build), GCC 12 reports a known false
// -Wrestrict inside that operator+, which -Werror turns into a failed build.
inline std::string node_name(NodeId id) {
  std::string out = "node ";
  out += std::to_string(id.value());
  return out;
}

inline std::string to_string(Ballot b) {
  std::string out = "(";
  out += std::to_string(b.round);
  out += ',';
  out += std::to_string(b.node.value());
  out += ')';
  return out;
}

}  // namespace synod

template <class Tag, class Rep>
struct std::hash<synod::StrongId<Tag, Rep>> {
  std::size_t operator()(const synod::StrongId<Tag, Rep>& id) const noexcept {
    return std::hash<Rep>{}(id.value());
  }
};
