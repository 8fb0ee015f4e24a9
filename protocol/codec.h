// The client protocol's codec: ClientFrames and ServerFrames (proto/
// client.fbs) <-> the messages of protocol/messages.h. The server decodes
// requests with decode_client and answers with encode_response,
// encode_watch_event and encode_session_event; the client library
// (client/core) writes requests with encode_client and reads what the server
// sends with decode_server.
//
// Contracts, for every decode_* here:
//   - `bytes` come from the network and are trusted for nothing. The frame
//     is size-checked (frame_bytes_max), then run through the FlatBuffers
//     verifier (verifier_depth_max, verifier_tables_max), then every field
//     is checked against our types' rules. Failures are values with a
//     sentence — never an assertion, never an exception:
//       TOO_LARGE      the frame exceeds frame_bytes_max
//       UNIMPLEMENTED  a request kind this end does not know (a newer peer)
//       BAD_ARGUMENTS  anything else: unverifiable, a missing field, a bad
//                      path, an enum value out of range, a limit exceeded
//   - decode(encode(v)) == v for every value v that satisfies those rules.
//   - `bytes` need no particular alignment and need not outlive the call.
// request_id_of() recovers the request id of a frame that verified, so the
// server can answer a bad request with its error instead of closing the
// connection; a frame it cannot read closes the connection (DESIGN.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/error.h"
#include "protocol/messages.h"

namespace synod::protocol {

[[nodiscard]] Result<ClientRequest> decode_client(std::string_view bytes);
// The request id of a frame that passes the size check and the verifier.
[[nodiscard]] std::optional<std::uint64_t> request_id_of(std::string_view bytes);
// The inverse of decode_client: a ClientFrame for `request`, as client/core
// sends it. A WriteRequest's op must be a create, delete or set (a check
// alone is a caller's bug and asserts). The frame may exceed frame_bytes_max
// (a write with huge data): the caller checks the size before sending, as
// decode_client will.
[[nodiscard]] std::string encode_client(const ClientRequest& request);

// A Response frame. If the frame would exceed frame_bytes_max (a huge
// children page or multi), it encodes instead a TOO_LARGE error response for
// the same request, so the server never sends a frame a client must refuse.
[[nodiscard]] std::string encode_response(const Response& response);
[[nodiscard]] std::string encode_watch_event(const WatchEvent& event);
[[nodiscard]] std::string encode_session_event(const SessionEvent& event);
// The inverse, with the same checks as decode_client.
[[nodiscard]] Result<ServerMessage> decode_server(std::string_view bytes);

}  // namespace synod::protocol
