// The bounds every frame is checked against before anything is read
// (STYLE.md habit 6). Exceeding one is an error value with a sentence; the
// runtime closes that one connection.
#pragma once

#include <cstddef>
#include <cstdint>

#include "protocol/path.h"
#include "protocol/types.h"

namespace synod::protocol {

// Bytes of one frame, peer or client, excluding the u32 length prefix. The
// payload budget covers one node's data at the store's default limit many
// times over; the headroom covers paths, tables and vtables around it.
inline constexpr std::size_t frame_payload_bytes_max = std::size_t{16} << 20;  // 16 MiB
inline constexpr std::size_t frame_headroom_bytes = std::size_t{1} << 20;      // 1 MiB
inline constexpr std::size_t frame_bytes_max = frame_payload_bytes_max + frame_headroom_bytes;

// FlatBuffers verifier limits. The deepest frame is
// PeerFrame > Promise > [PromiseEntry] > Entry > Configuration > [uint]:
// six levels; 16 leaves room for growth. Tables: a frame of frame_bytes_max
// bytes cannot hold more than one table per 8 bytes anyway.
inline constexpr std::uint32_t verifier_depth_max = 16;
inline constexpr std::uint32_t verifier_tables_max = 1u << 22;

// Children per page when a ChildrenRequest gives limit 0.
inline constexpr std::uint32_t children_page_default = 1000;

// A set (or create) of one node at the store's default data limit, with a
// maximal path and a fence, fits in one client frame and in one peer frame
// (the Accept that carries it, inside a LogCommand).
static_assert(data_bytes_max_default + 2 * path_bytes_max + 4096 <= frame_payload_bytes_max,
              "one maximal write must fit in a frame");
static_assert(frame_bytes_max < (std::size_t{1} << 31),
              "FlatBuffers buffers must stay below 2 GiB");
static_assert(frame_bytes_max <= UINT32_MAX, "the length prefix is a u32");
static_assert(children_page_max * (path_bytes_max + 64 + 16) <= frame_bytes_max * 4,
              "a full children page is in the order of a frame");
static_assert(children_page_default <= children_page_max);

}  // namespace synod::protocol
