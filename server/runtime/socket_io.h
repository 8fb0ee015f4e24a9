// Internal to server/runtime: the Asio side of the wire framing, shared by
// the peer links, the client connections and the inbound peer readers.
// Included by the runtime's Asio translation units only (server.cpp,
// peer_link.cpp, client_connection.cpp, listeners.cpp); the framing itself is
// Asio-free (frame_queue.h, frame_reader.h).
//
// Contract (STYLE.md habit 5): socket errors come back as values
// (as_tuple), never as exceptions; what to do with them is the caller's.
#pragma once

#include <asio.hpp>
#include <asio/experimental/as_tuple.hpp>

#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "server/runtime/frame_queue.h"
#include "server/runtime/frame_reader.h"

namespace synod::runtime {

using asio::awaitable;
using asio::ip::tcp;
inline constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

// "ADDRESS:PORT" of the remote end, or "an unknown address".
inline std::string endpoint_name(const tcp::socket& socket) {
  asio::error_code ec;
  const auto remote = socket.remote_endpoint(ec);
  if (ec) return "an unknown address";
  return remote.address().to_string() + ":" + std::to_string(remote.port());
}

// Writes every frame in `frames` with one gathered write (writev).
inline awaitable<asio::error_code> write_frames(tcp::socket& socket,
                                                const std::vector<Frame>& frames) {
  std::vector<asio::const_buffer> buffers;
  buffers.reserve(2 * frames.size());
  for (const Frame& frame : frames) {
    buffers.push_back(asio::buffer(frame.length));
    buffers.push_back(asio::buffer(frame.payload));
  }
  auto [ec, n] = co_await asio::async_write(socket, buffers, use_tuple);
  co_return ec;
}

// One step of reading a connection: exactly one of the three is set.
struct FrameRead {
  std::optional<std::string> frame;  // the payload, without its length
  asio::error_code error;            // set when the socket failed or closed
  std::string refused;               // set when a frame exceeds the limit
};

// The next frame of `socket`, reading whatever it has (up to room()) until
// `frames` holds a whole one.
inline awaitable<FrameRead> read_frame(tcp::socket& socket, FrameReader& frames) {
  for (;;) {
    FrameReader::Taken taken = frames.take();
    if (taken.frame) co_return FrameRead{std::move(taken.frame), {}, {}};
    if (!taken.refused.empty()) co_return FrameRead{std::nullopt, {}, std::move(taken.refused)};
    const std::span<char> room = frames.room();
    auto [ec, n] = co_await socket.async_read_some(asio::buffer(room.data(), room.size()),
                                                   use_tuple);
    frames.commit(n);
    if (ec) co_return FrameRead{std::nullopt, ec, {}};
  }
}

}  // namespace synod::runtime
