// Internal to server/runtime (no other layer includes it): the frames waiting
// to be written on one connection, shared by peer links and client
// connections. No Asio here.
//
// Contract:
//   - A Frame is one frame as the wire carries it (runtime.h, "Wire
//     framing"): a u32 little-endian length, then that many payload bytes.
//     The length is kept beside the payload, not copied in front of it: the
//     gathered write sends both. Its payload must fit the u32 prefix
//     (asserted); whether it fits protocol::frame_bytes_max is the caller's to
//     assert, since only the caller knows who bounds it.
//   - A FrameQueue is bounded twice (STYLE.md habit 6): at most frames_max
//     frames and at most bytes_max bytes, prefixes included. push() beyond
//     either bound returns false and changes nothing; what that means is the
//     caller's (a peer link drops the message, a client connection closes as
//     too slow). A queue must be able to hold one maximal frame (asserted).
//   - pop_batch() hands out whole frames, oldest first, never splitting one.
//   - bytes() is always the sum of the sizes of the frames held (asserted
//     where it can be checked cheaply: zero exactly when empty, never above
//     bytes_max).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "base/bounded_queue.h"
#include "protocol/limits.h"
#include "server/runtime/runtime.h"

namespace synod::runtime {

inline constexpr std::size_t length_prefix_bytes = 4;
// One gathered write sends at most this much (a single larger frame alone).
inline constexpr std::size_t write_batch_bytes_max = 256 * 1024;

static_assert(peer_queue_bytes_max >= protocol::frame_bytes_max + length_prefix_bytes,
              "a peer link must be able to queue one maximal frame");
static_assert(client_queue_bytes_max >= protocol::frame_bytes_max + length_prefix_bytes,
              "a client queue must be able to hold one maximal frame");

// One frame on the wire: "u32 length (little-endian) + payload".
struct Frame {
  std::array<unsigned char, length_prefix_bytes> length{};
  std::string payload;

  explicit Frame(std::string bytes);
  [[nodiscard]] std::size_t size() const { return length_prefix_bytes + payload.size(); }
};

// The length a u32 little-endian prefix holds.
[[nodiscard]] std::uint32_t read_length(
    const std::array<unsigned char, length_prefix_bytes>& header);

// Frames waiting to be written on one connection, bounded in count and in
// bytes.
class FrameQueue {
 public:
  // frames_max > 0; bytes_max holds at least one frame of protocol::frame_bytes_max.
  FrameQueue(std::size_t frames_max, std::size_t bytes_max);

  // False, leaving the queue unchanged, when `payload` would exceed a bound.
  [[nodiscard]] bool push(std::string payload);
  // Moves out the oldest frames, at least one if any, up to `bytes_max`
  // bytes in all: what one gathered write sends. `out` is cleared first.
  void pop_batch(std::vector<Frame>& out, std::size_t bytes_max);
  void clear();
  [[nodiscard]] std::size_t frames() const { return frames_.size(); }
  [[nodiscard]] std::size_t bytes() const { return bytes_; }

 private:
  void check_invariants() const;

  base::BoundedQueue<Frame> frames_;
  std::size_t bytes_max_;
  std::size_t bytes_ = 0;
};

}  // namespace synod::runtime
