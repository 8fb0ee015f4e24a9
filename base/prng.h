// The one source of randomness: a seeded xoshiro256** generator with our own
// range helpers. Standard distributions differ between standard libraries,
// so none is used; the same seed gives the same numbers everywhere
// (STYLE.md habit 2). Passed by reference, never global.
#pragma once

#include <cstdint>
#include <span>
#include <utility>

#include "base/assert.h"

namespace synod::base {

class Prng {
 public:
  explicit Prng(std::uint64_t seed) {
    // splitmix64 expands the seed into the four words of state.
    for (auto& word : state_) {
      seed += 0x9e3779b97f4a7c15ull;
      std::uint64_t z = seed;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
      word = z ^ (z >> 31);
    }
  }

  std::uint64_t next_u64() {
    const std::uint64_t result = rotl(state_[1] * 5, 7) * 9;
    const std::uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
  }

  // Uniform in [0, bound). bound must be > 0. Lemire's method with rejection,
  // so there is no modulo bias.
  std::uint64_t below(std::uint64_t bound) {
    SYNOD_ASSERT(bound > 0);
    const std::uint64_t threshold = (0 - bound) % bound;
    for (;;) {
      const std::uint64_t x = next_u64();
      const unsigned __int128 m = static_cast<unsigned __int128>(x) * bound;
      if (static_cast<std::uint64_t>(m) >= threshold) {
        return static_cast<std::uint64_t>(m >> 64);
      }
    }
  }

  // Uniform in [lo, hi], inclusive. lo <= hi.
  std::uint64_t range(std::uint64_t lo, std::uint64_t hi) {
    SYNOD_ASSERT(lo <= hi);
    if (hi - lo == ~std::uint64_t{0}) return next_u64();
    return lo + below(hi - lo + 1);
  }

  // True with probability numerator / denominator.
  bool chance(std::uint64_t numerator, std::uint64_t denominator) {
    SYNOD_ASSERT(denominator > 0);
    SYNOD_ASSERT(numerator <= denominator);
    return below(denominator) < numerator;
  }

  // True with probability permille / 1000.
  bool chance_permille(std::uint32_t permille) { return chance(permille, 1000); }

  template <class T>
  T& pick(std::span<T> items) {
    SYNOD_ASSERT(!items.empty());
    return items[static_cast<std::size_t>(below(items.size()))];
  }

  template <class T>
  void shuffle(std::span<T> items) {
    for (std::size_t i = items.size(); i > 1; --i) {
      const auto j = static_cast<std::size_t>(below(i));
      std::swap(items[i - 1], items[j]);
    }
  }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::uint64_t state_[4]{};
};

}  // namespace synod::base
