// The client protocol's messages, as both ends hold them (proto/client.fbs
// on the wire; protocol/codec.h turns one into the other):
//   ClientRequest  a request id and a ClientBody: a write (WriteRequest,
//                  MultiRequest, CloseSessionRequest), a read, or a session
//                  or watch operation. Paths are parsed once, by the decoder.
//   ServerMessage  what a server sends: a Response to one request, a
//                  WatchEvent, or a SessionEvent.
// A write carries no session: the server takes the connection's, so a client
// can never write as another session.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/ids.h"
#include "protocol/error.h"
#include "protocol/limits.h"
#include "protocol/ops.h"
#include "protocol/types.h"

namespace synod::protocol {

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
  Path path = Path::root();
  bool watch = false;
  ReadMode mode = ReadMode::linearizable;
};
struct ExistsRequest {
  Path path = Path::root();
  bool watch = false;
  ReadMode mode = ReadMode::linearizable;
};
// after: "" for the first page. limit in [1, children_page_max]; a
// frame's limit 0 decodes as children_page_default.
struct ChildrenRequest {
  Path path = Path::root();
  bool watch = false;
  ReadMode mode = ReadMode::linearizable;
  std::string after;
  std::uint32_t limit = children_page_default;
};
struct CheckFenceRequest {
  Fence fence;
};
// previous: move this existing session here; last_zxid: the highest zxid
// the client has seen (the server must not serve older state); secret: the
// session's, from its open answer (a move with another is SESSION_EXPIRED).
struct OpenSessionRequest {
  std::int64_t timeout_ms = 0;
  std::optional<SessionId> previous;
  Zxid last_zxid{};
  SessionSecret secret{};
};
struct KeepAliveRequest {};
struct SyncRequest {};
// A persistent or persistent_recursive watch; from_zxid: replay the retained
// events after it first (COMPACTED when some are gone). A one-shot (data,
// exists, children) watch; from_zxid: set again as of that zxid (a moved
// session, ZooKeeper's SetWatches): when the node changed after it the
// watch fires at once, before the answer, and is not registered. Either
// one-shot form answers the node's stat (StatResult) when it exists.
struct SetWatchRequest {
  Path path = Path::root();
  WatchKind kind = WatchKind::data;
  std::optional<Zxid> from_zxid;
};
struct RemoveWatchRequest {
  Path path = Path::root();
  WatchKind kind = WatchKind::data;
};

// One write: create, delete or set (a check alone is not a request; it goes
// inside a multi), guarded by an optional fence.
struct WriteRequest {
  std::optional<Fence> fence;
  Op op;
};
// All-or-nothing (at most multi_ops_max ops); `fence` is checked once,
// before the first op, each op's own fence just before it.
struct MultiRequest {
  std::optional<Fence> fence;
  std::vector<MultiOp> ops;
};
// Closes the connection's session and removes its ephemerals.
struct CloseSessionRequest {};

using ClientBody =
    std::variant<WriteRequest, MultiRequest, CloseSessionRequest, GetRequest, ExistsRequest,
                 ChildrenRequest, CheckFenceRequest, OpenSessionRequest, KeepAliveRequest,
                 SyncRequest, SetWatchRequest, RemoveWatchRequest>;

struct ClientRequest {
  std::uint64_t request_id = 0;
  ClientBody body;
};

// ---- Server frames ----

struct StatResult {
  Stat stat;
};
struct DataResult {
  std::string data;
  Stat stat;
  NodeKind kind = NodeKind::persistent;
  std::int64_t ttl_ms = 0;
};
// next_after: set when more children follow; pass it as the next `after`.
struct ChildrenResult {
  std::vector<ChildEntry> entries;
  std::optional<std::string> next_after;
};
struct CreateResult {
  std::string path;
  Stat stat;
};
struct MultiResult {
  std::vector<OpResult> results;
};
// safe_for_ms: the session cannot expire sooner than this long after the
// client sent the request. secret: what moving the session requires.
struct SessionResult {
  SessionId session{};
  std::int64_t timeout_ms = 0;
  std::int64_t safe_for_ms = 0;
  SessionSecret secret{};
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
  Event event;
  Path watch_path = Path::root();
  WatchKind watch_kind = WatchKind::data;
};

enum class SessionState : std::uint8_t { connected = 0, expired = 1, moved = 2, closed = 3 };
struct SessionEvent {
  SessionState state = SessionState::connected;
  SessionId session{};
  std::string message;
};

using ServerMessage = std::variant<Response, WatchEvent, SessionEvent>;

}  // namespace synod::protocol
