// Hash64: a small, stable, streaming 64-bit hash (FNV-1a with a final mix).
// Used for digests that replicas compare (Store::digest, the simulator's
// chain of applied entries), so it must give the same value on every build.
// Not for security.
#pragma once

#include <cstdint>
#include <string_view>

namespace synod::base {

class Hash64 {
 public:
  constexpr Hash64() = default;
  constexpr explicit Hash64(std::uint64_t seed) : state_(seed ^ 0xcbf29ce484222325ull) {}

  constexpr Hash64& bytes(std::string_view data) {
    for (char c : data) {
      state_ ^= static_cast<unsigned char>(c);
      state_ *= 0x100000001b3ull;
    }
    return u64(data.size());
  }

  constexpr Hash64& u64(std::uint64_t value) {
    for (int i = 0; i < 8; ++i) {
      state_ ^= (value >> (8 * i)) & 0xFFu;
      state_ *= 0x100000001b3ull;
    }
    return *this;
  }

  [[nodiscard]] constexpr std::uint64_t finish() const {
    std::uint64_t z = state_;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }

 private:
  std::uint64_t state_ = 0xcbf29ce484222325ull;
};

}  // namespace synod::base
