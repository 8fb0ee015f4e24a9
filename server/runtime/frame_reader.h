// Internal to server/runtime: splits one connection's byte stream into
// frames (runtime.h, "Wire framing"). No Asio here; socket_io.h's
// read_frame() feeds it from a socket.
//
// Contract:
//   - The bytes come from the network and are trusted for nothing. A length
//     prefix above protocol::frame_bytes_max is refused with a sentence (a
//     value: the caller counts it and closes the connection), never
//     asserted, and no room is ever made for such a frame.
//   - take() yields whole payloads in arrival order, without their prefix.
//   - Between two take()s that yield nothing, the caller reads into room()
//     and reports how much with commit(). room() is at least
//     read_chunk_bytes, and the buffer grows (never zero-filled) so that
//     the whole frame being read and a chunk more fit: a burst of small
//     frames costs one recv, not two per frame.
//   - Asserted: room() is asked for only when take() has nothing, commit()
//     never claims more than room(), and the read positions stay in order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "server/runtime/frame_queue.h"

namespace synod::runtime {

class FrameReader {
 public:
  static constexpr std::size_t read_chunk_bytes = 64 * 1024;

  struct Taken {
    std::optional<std::string> frame;  // the payload, without its length
    std::string refused;               // set when a frame exceeds the limit
  };
  // The oldest whole frame held; neither a frame nor a refusal when more
  // bytes are needed. After a refusal the caller must stop reading.
  [[nodiscard]] Taken take();
  // Where the next read goes.
  [[nodiscard]] std::span<char> room();
  // `n` bytes were read into the start of room().
  void commit(std::size_t n);

 private:
  void make_room(std::size_t wanted);
  void check_invariants() const;

  std::unique_ptr<char[]> data_;
  std::size_t capacity_ = 0;
  std::size_t begin_ = 0;  // the first unread byte
  std::size_t end_ = 0;    // one past the last byte read
  std::size_t wanted_ = length_prefix_bytes;  // bytes from begin_ a whole frame needs
};

// "frame of N bytes exceeds the limit of ..." for a length over
// protocol::frame_bytes_max.
[[nodiscard]] std::string too_large(std::uint32_t bytes);

}  // namespace synod::runtime
