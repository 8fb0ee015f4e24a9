#include <doctest/doctest.h>

#include <array>
#include <cstring>
#include <numeric>
#include <string>
#include <vector>

#include "base/bounded_queue.h"
#include "base/crc32c.h"
#include "base/hash.h"
#include "base/ids.h"
#include "base/little_endian.h"
#include "base/prng.h"

using namespace synod;

TEST_CASE("crc32c: matches the RFC 3720 B.4 test vectors, in hardware and by table") {
  std::array<unsigned char, 32> zeros{};
  std::array<unsigned char, 32> ones{};
  ones.fill(0xFF);
  std::array<unsigned char, 32> increasing{};
  std::array<unsigned char, 32> decreasing{};
  for (unsigned i = 0; i < 32; ++i) {
    increasing[i] = static_cast<unsigned char>(i);
    decreasing[i] = static_cast<unsigned char>(31 - i);
  }
  const unsigned char iscsi_read[48] = {
      0x01, 0xC0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
      0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18, 0x28, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
  for (bool hardware : {true, false}) {
    CAPTURE(hardware);
    CHECK(base::crc32c_extend(0, zeros.data(), 32, hardware) == 0x8A9136AAu);
    CHECK(base::crc32c_extend(0, ones.data(), 32, hardware) == 0x62A8AB43u);
    CHECK(base::crc32c_extend(0, increasing.data(), 32, hardware) == 0x46DD794Eu);
    CHECK(base::crc32c_extend(0, decreasing.data(), 32, hardware) == 0x113FDB5Cu);
    CHECK(base::crc32c_extend(0, iscsi_read, 48, hardware) == 0xD9963A56u);
  }
  CHECK(base::crc32c(std::string_view("123456789")) == 0xE3069283u);
}

TEST_CASE("crc32c: extending in pieces equals summing at once, for every split") {
  base::Prng prng(7);
  std::vector<unsigned char> data(300);
  for (auto& b : data) b = static_cast<unsigned char>(prng.below(256));
  const std::uint32_t whole = base::crc32c(data.data(), data.size());
  for (std::size_t split = 0; split <= data.size(); split += 13) {
    std::uint32_t crc = base::crc32c_extend(0, data.data(), split);
    crc = base::crc32c_extend(crc, data.data() + split, data.size() - split);
    CHECK(crc == whole);
    CHECK(base::crc32c_extend(0, data.data(), data.size(), false) == whole);
  }
}

TEST_CASE("prng: the same seed gives the same sequence; different seeds differ") {
  base::Prng a(42), b(42), c(43);
  bool differs = false;
  for (int i = 0; i < 100; ++i) {
    const auto x = a.next_u64();
    CHECK(x == b.next_u64());
    differs = differs || x != c.next_u64();
  }
  CHECK(differs);
}

TEST_CASE("prng: below() stays in range and reaches every value") {
  base::Prng prng(1);
  std::array<int, 7> seen{};
  for (int i = 0; i < 7000; ++i) {
    const auto v = prng.below(7);
    REQUIRE(v < 7);
    ++seen[v];
  }
  for (int count : seen) CHECK(count > 800);
  for (int i = 0; i < 1000; ++i) {
    const auto v = prng.range(10, 12);
    CHECK(v >= 10);
    CHECK(v <= 12);
  }
  CHECK(prng.range(5, 5) == 5);
}

TEST_CASE("prng: shuffle is a permutation") {
  base::Prng prng(3);
  std::vector<int> items(50);
  std::iota(items.begin(), items.end(), 0);
  prng.shuffle(std::span<int>(items));
  std::vector<int> sorted = items;
  std::sort(sorted.begin(), sorted.end());
  for (int i = 0; i < 50; ++i) CHECK(sorted[static_cast<std::size_t>(i)] == i);
}

TEST_CASE("bounded queue: refuses a push when full and keeps FIFO order around the ring") {
  base::BoundedQueue<int> queue(3);
  CHECK(queue.push(1));
  CHECK(queue.push(2));
  CHECK(queue.push(3));
  CHECK(queue.full());
  CHECK_FALSE(queue.push(4));
  CHECK(queue.pop() == 1);
  CHECK(queue.push(4));
  CHECK(queue.pop() == 2);
  CHECK(queue.pop() == 3);
  CHECK(queue.pop() == 4);
  CHECK_FALSE(queue.pop().has_value());
  CHECK(queue.empty());
}

TEST_CASE("bounded queue: holds a type without a default constructor, and clear keeps the "
          "capacity") {
  struct Only {
    explicit Only(int v) : value(v) {}
    int value;
  };
  base::BoundedQueue<Only> queue(2);
  CHECK(queue.push(Only{1}));
  CHECK(queue.push(Only{2}));
  CHECK_FALSE(queue.push(Only{3}));
  CHECK(queue.front().value == 1);
  queue.clear();
  CHECK(queue.empty());
  CHECK(queue.capacity() == 2);
  CHECK(queue.push(Only{4}));
  CHECK(queue.pop()->value == 4);
}

TEST_CASE("ids: ballots order by round, then by node") {
  const Ballot a{1, NodeId{3}};
  const Ballot b{2, NodeId{1}};
  const Ballot c{2, NodeId{2}};
  CHECK(a < b);
  CHECK(b < c);
  CHECK(Ballot{}.is_zero());
  CHECK(to_string(c) == "(2,2)");
  CHECK(next(Slot{4}) == Slot{5});
}

TEST_CASE("hash64: stable values; order and content both matter") {
  const auto h1 = base::Hash64{}.bytes("ab").u64(1).finish();
  const auto h2 = base::Hash64{}.bytes("ab").u64(1).finish();
  const auto h3 = base::Hash64{}.u64(1).bytes("ab").finish();
  const auto h4 = base::Hash64{}.bytes("ba").u64(1).finish();
  CHECK(h1 == h2);
  CHECK(h1 != h3);
  CHECK(h1 != h4);
}

TEST_CASE("little endian: integers are written low byte first and read back exactly") {
  std::string out;
  synod::base::put_u32(out, 0x04030201u);
  synod::base::put_u64(out, 0x0807060504030201ull);
  synod::base::put_u8(out, 0xFF);
  CHECK(out == std::string("\x01\x02\x03\x04\x01\x02\x03\x04\x05\x06\x07\x08\xFF", 13));
  CHECK(synod::base::get_u32(out, 0) == 0x04030201u);
  CHECK(synod::base::get_u64(out, 4) == 0x0807060504030201ull);
  CHECK(synod::base::get_u8(out, 12) == 0xFF);
  unsigned char buffer[4];
  synod::base::store_le(buffer, std::uint32_t{0xDEADBEEF});
  CHECK(buffer[0] == 0xEF);
  CHECK(buffer[3] == 0xDE);
  CHECK(synod::base::load_le<std::uint32_t>(buffer) == 0xDEADBEEF);
}
