// Frames and the bounded queue of them (frame_queue.h).
#include "server/runtime/frame_queue.h"

#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "base/assert.h"
#include "base/little_endian.h"

namespace synod::runtime {

Frame::Frame(std::string bytes) : payload(std::move(bytes)) {
  SYNOD_ASSERT_MSG(payload.size() <= std::numeric_limits<std::uint32_t>::max(),
                   "a frame's length must fit its u32 prefix");
  static_assert(length_prefix_bytes == sizeof(std::uint32_t));
  base::store_le(length.data(), static_cast<std::uint32_t>(payload.size()));
}

std::uint32_t read_length(const std::array<unsigned char, length_prefix_bytes>& header) {
  return base::load_le<std::uint32_t>(header.data());
}

FrameQueue::FrameQueue(std::size_t frames_max, std::size_t bytes_max)
    : frames_(frames_max), bytes_max_(bytes_max) {
  SYNOD_ASSERT_MSG(bytes_max >= protocol::frame_bytes_max + length_prefix_bytes,
                   "a frame queue must be able to hold one maximal frame");
}

bool FrameQueue::push(std::string payload) {
  const std::size_t size = length_prefix_bytes + payload.size();
  if (frames_.full() || bytes_ + size > bytes_max_) return false;
  const bool pushed = frames_.push(Frame(std::move(payload)));
  SYNOD_ASSERT(pushed);
  bytes_ += size;
  check_invariants();
  return true;
}

void FrameQueue::pop_batch(std::vector<Frame>& out, std::size_t bytes_max) {
  SYNOD_ASSERT(bytes_max > 0);
  out.clear();
  std::size_t taken = 0;
  while (!frames_.empty() && (out.empty() || taken + frames_.front().size() <= bytes_max)) {
    taken += frames_.front().size();
    out.push_back(std::move(*frames_.pop()));
  }
  SYNOD_ASSERT(taken <= bytes_);
  bytes_ -= taken;
  check_invariants();
}

void FrameQueue::clear() {
  frames_.clear();
  bytes_ = 0;
}

void FrameQueue::check_invariants() const {
  SYNOD_ASSERT(bytes_ <= bytes_max_);
  SYNOD_ASSERT(frames_.size() <= frames_.capacity());
  SYNOD_ASSERT_MSG(frames_.empty() == (bytes_ == 0), "bytes() counts the frames held");
}

}  // namespace synod::runtime
