// The client codec: ClientFrames in, ServerFrames out (proto/client.fbs).
//
// The server decodes each request into a ClientRequest: writes become the
// store::Command the leader will propose (paths parsed once, here), reads
// and session and watch operations become the small structs below. The
// client library (client/core) writes ClientFrames with encode_client and
// reads ServerFrames with decode_server.
//
// Contracts: as in peer.h. decode_client never asserts and never throws on
// any bytes; failures are values with a sentence:
//   TOO_LARGE      the frame exceeds frame_bytes_max
//   UNIMPLEMENTED  a request kind this server does not know (a newer client)
//   BAD_ARGUMENTS  anything else: unverifiable, a missing field, a bad path,
//                  an enum value out of range, a limit exceeded
// request_id_of() recovers the request id of a frame that verified, so the
// server can answer a bad request with its error instead of closing the
// connection; a frame it cannot read closes the connection (DESIGN.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/ids.h"
#include "server/codec/limits.h"
#include "server/store/command.h"
#include "server/store/status.h"
#include "server/store/store.h"
#include "server/store/types.h"

namespace synod::codec {

using store::Result;
using store::Status;

// linearizable (the default): read-index, never stale. sequential: local
// state, never older than what the session has already seen.
enum class ReadMode : std::uint8_t { linearizable = 0, sequential = 1 };

// proto WatchKind, same numbers. data, children and exists are one-shot.
enum class WatchKind : std::uint8_t {
  data = 1,
  children = 2,
  exists = 3,
  persistent = 4,
  persistent_recursive = 5,
};

// watch: leave a one-shot watch of the read's own kind.
struct GetRequest {
  store::Path path = store::Path::root();
  bool watch = false;
  ReadMode mode = ReadMode::linearizable;
};
struct ExistsRequest {
  store::Path path = store::Path::root();
  bool watch = false;
  ReadMode mode = ReadMode::linearizable;
};
// after: "" for the first page. limit in [1, store::children_page_max]; a
// frame's limit 0 decodes as children_page_default.
struct ChildrenRequest {
  store::Path path = store::Path::root();
  bool watch = false;
  ReadMode mode = ReadMode::linearizable;
  std::string after;
  std::uint32_t limit = children_page_default;
};
struct CheckFenceRequest {
  store::Fence fence;
};
// previous: move this existing session here; last_zxid: the highest zxid
// the client has seen (the server must not serve older state).
struct OpenSessionRequest {
  std::int64_t timeout_ms = 0;
  std::optional<SessionId> previous;
  Zxid last_zxid{};
};
struct KeepAliveRequest {};
struct SyncRequest {};
struct SetWatchRequest {
  store::Path path = store::Path::root();
  WatchKind kind = WatchKind::data;
  std::optional<Zxid> from_zxid;
};
struct RemoveWatchRequest {
  store::Path path = store::Path::root();
  WatchKind kind = WatchKind::data;
};

// store::Command: create, delete, set and multi (WriteCommand, MultiCommand)
// and close (CloseSessionCommand), with `session` filled in.
using ClientBody =
    std::variant<store::Command, GetRequest, ExistsRequest, ChildrenRequest, CheckFenceRequest,
                 OpenSessionRequest, KeepAliveRequest, SyncRequest, SetWatchRequest,
                 RemoveWatchRequest>;

struct ClientRequest {
  std::uint64_t request_id = 0;
  ClientBody body;
};

// `session`: the session attached to the connection the frame arrived on
// (0 before one is opened); written into every command a session issues.
[[nodiscard]] Result<ClientRequest> decode_client(std::string_view bytes, SessionId session);
// The request id of a frame that passes the size check and the verifier.
[[nodiscard]] std::optional<std::uint64_t> request_id_of(std::string_view bytes);
// The inverse of decode_client: a ClientFrame for `request`, as client/core
// sends it. A command must be a WriteCommand (create, delete or set), a
// MultiCommand or a CloseSessionCommand; its `session` is not written (the
// server takes the connection's). Anything else is a caller's bug and
// asserts. The frame may exceed frame_bytes_max (a write with huge data):
// the caller checks the size before sending, as decode_client will.
[[nodiscard]] std::string encode_client(const ClientRequest& request);

// ---- Server frames ----

struct StatResult {
  store::Stat stat;
};
struct DataResult {
  std::string data;
  store::Stat stat;
  store::NodeKind kind = store::NodeKind::persistent;
  std::int64_t ttl_ms = 0;
};
// next_after: set when more children follow; pass it as the next `after`.
struct ChildrenResult {
  std::vector<store::ChildEntry> entries;
  std::optional<std::string> next_after;
};
struct CreateResult {
  std::string path;
  store::Stat stat;
};
struct MultiResult {
  std::vector<store::OpResult> results;
};
// safe_for_ms: the session cannot expire sooner than this long after the
// client sent the request.
struct SessionResult {
  SessionId session{};
  std::int64_t timeout_ms = 0;
  std::int64_t safe_for_ms = 0;
};
struct FenceResult {
  Zxid token{};
};
using ResultBody = std::variant<std::monostate, StatResult, DataResult, ChildrenResult,
                                CreateResult, MultiResult, SessionResult, FenceResult>;

// status: OK or the error with its sentence. body: the answer (monostate for
// delete, sync, keep-alive, close and watch requests); a failed multi still
// carries its MultiResult.
struct Response {
  std::uint64_t request_id = 0;
  Zxid zxid{};
  Status status;
  ResultBody body;
};

// watch_path/watch_kind: the registration that fired.
struct WatchEvent {
  store::Event event;
  store::Path watch_path = store::Path::root();
  WatchKind watch_kind = WatchKind::data;
};

enum class SessionState : std::uint8_t { connected = 0, expired = 1, moved = 2, closed = 3 };
struct SessionEvent {
  SessionState state = SessionState::connected;
  SessionId session{};
  std::string message;
};

using ServerMessage = std::variant<Response, WatchEvent, SessionEvent>;

// A Response frame. If the frame would exceed frame_bytes_max (a huge
// children page or multi), it encodes instead a TOO_LARGE error response for
// the same request, so the server never sends a frame a client must refuse.
[[nodiscard]] std::string encode_response(const Response& response);
[[nodiscard]] std::string encode_watch_event(const WatchEvent& event);
[[nodiscard]] std::string encode_session_event(const SessionEvent& event);
// The inverse, with the same checks as decode_client.
[[nodiscard]] Result<ServerMessage> decode_server(std::string_view bytes);

}  // namespace synod::codec
