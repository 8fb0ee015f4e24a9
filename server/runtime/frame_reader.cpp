// Splitting a byte stream into frames (frame_reader.h).
#include "server/runtime/frame_reader.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <string>
#include <utility>

#include "base/assert.h"
#include "protocol/limits.h"
#include "server/runtime/frame_queue.h"

namespace synod::runtime {

std::string too_large(std::uint32_t bytes) {
  return "frame of " + std::to_string(bytes) + " bytes exceeds the limit of " +
         std::to_string(protocol::frame_bytes_max) + " bytes (protocol::frame_bytes_max)";
}

FrameReader::Taken FrameReader::take() {
  check_invariants();
  const std::size_t held = end_ - begin_;
  wanted_ = length_prefix_bytes;
  if (held < length_prefix_bytes) return Taken{};
  std::array<unsigned char, length_prefix_bytes> header{};
  std::memcpy(header.data(), data_.get() + begin_, length_prefix_bytes);
  const std::uint32_t length = read_length(header);
  if (length > protocol::frame_bytes_max) return Taken{std::nullopt, too_large(length)};
  wanted_ = length_prefix_bytes + length;
  if (held < wanted_) return Taken{};
  std::string frame(data_.get() + begin_ + length_prefix_bytes, length);
  SYNOD_ASSERT(frame.size() <= protocol::frame_bytes_max);
  begin_ += wanted_;
  return Taken{std::move(frame), {}};
}

std::span<char> FrameReader::room() {
  SYNOD_ASSERT_MSG(end_ - begin_ < wanted_, "room() while take() has a frame to give");
  make_room(wanted_);
  SYNOD_ASSERT(capacity_ - end_ >= read_chunk_bytes);
  return {data_.get() + end_, capacity_ - end_};
}

void FrameReader::commit(std::size_t n) {
  SYNOD_ASSERT_MSG(n <= capacity_ - end_, "a read cannot exceed the room it was given");
  end_ += n;
}

// Moves the unread bytes to the front, and grows (without zeroing) so the
// whole of a `wanted`-byte frame and a chunk more fit.
void FrameReader::make_room(std::size_t wanted) {
  const std::size_t held = end_ - begin_;
  const std::size_t needed = std::max(wanted, held) + read_chunk_bytes;
  if (needed > capacity_) {
    auto bigger = std::make_unique_for_overwrite<char[]>(needed);
    if (held > 0) std::memcpy(bigger.get(), data_.get() + begin_, held);
    data_ = std::move(bigger);
    capacity_ = needed;
  } else if (begin_ > 0) {
    std::memmove(data_.get(), data_.get() + begin_, held);
  }
  begin_ = 0;
  end_ = held;
}

void FrameReader::check_invariants() const {
  SYNOD_ASSERT(begin_ <= end_);
  SYNOD_ASSERT(end_ <= capacity_);
  SYNOD_ASSERT(capacity_ <= protocol::frame_bytes_max + length_prefix_bytes + read_chunk_bytes);
}

}  // namespace synod::runtime
