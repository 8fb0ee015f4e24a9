// client_seed_inputs(): valid run_client_input inputs (client_step.h).
#include <utility>

#include "tests/fuzz/client_step.h"

namespace synod::fuzz {

namespace {

protocol::Path path(const char* text) { return protocol::Path::parse(text).value(); }

protocol::WriteRequest create(const char* p, std::string data, protocol::NodeKind kind,
                              std::int64_t ttl_ms = 0) {
  protocol::CreateOp op;
  op.path = path(p);
  op.data = std::move(data);
  op.kind = kind;
  op.ttl_ms = ttl_ms;
  return protocol::WriteRequest{std::nullopt, op};
}

protocol::MultiRequest multi(const char* p) {
  protocol::CreateOp made;
  made.path = path(p);
  made.sequential = true;
  protocol::MultiRequest m;
  m.ops.push_back(protocol::MultiOp{made, std::nullopt});
  m.ops.push_back(protocol::MultiOp{protocol::CheckOp{path("/"), std::nullopt}, std::nullopt});
  m.ops.push_back(protocol::MultiOp{protocol::SetOp{path("/a"), "s", 0}, std::nullopt});
  return m;
}

// One chunk: control, length, frame (frames over 255 bytes are not seeds).
void add(std::string& input, std::uint8_t control, std::uint64_t id, protocol::ClientBody body) {
  const std::string frame = protocol::encode_client(protocol::ClientRequest{id, std::move(body)});
  if (frame.size() > 255) return;
  input.push_back(static_cast<char>(control));
  input.push_back(static_cast<char>(frame.size()));
  input += frame;
}

void open(std::string& input, std::uint8_t client) {
  add(input, client, 1, protocol::OpenSessionRequest{1000, std::nullopt, Zxid{}});
}

std::string writes() {
  using protocol::NodeKind;
  std::string in;
  open(in, 0);
  add(in, 4, 2, create("/a", "x", NodeKind::persistent));
  add(in, 0, 3, create("/a/e", "", NodeKind::ephemeral));
  add(in, 0, 4, create("/t", "", NodeKind::ttl, 50));
  add(in, 0, 5, create("/c", "", NodeKind::container));
  add(in, 12, 6, protocol::GetRequest{path("/a"), true, protocol::ReadMode::linearizable});
  add(in, 0, 7, protocol::WriteRequest{std::nullopt, protocol::SetOp{path("/a"), "y", 0}});
  add(in, 0, 8, multi("/a/q-"));
  add(in, 0, 9, protocol::WriteRequest{std::nullopt, protocol::DeleteOp{path("/a"), {}}});
  add(in, 0, 10, protocol::CloseSessionRequest{});
  return in;
}

std::string reads_and_watches() {
  using protocol::ReadMode;
  std::string in;
  open(in, 1);
  open(in, 2);
  add(in, 1, 2,
      protocol::SetWatchRequest{path("/"), protocol::WatchKind::persistent_recursive,
                                std::nullopt});
  add(in, 2, 2, create("/w", "", protocol::NodeKind::persistent));
  add(in, 1, 3, protocol::ChildrenRequest{path("/"), true, ReadMode::linearizable, "", 10});
  add(in, 1, 4, protocol::ExistsRequest{path("/w"), true, ReadMode::sequential});
  add(in, 1, 5, protocol::SyncRequest{});
  add(in, 1, 6, protocol::KeepAliveRequest{});
  add(in, 1, 7, protocol::CheckFenceRequest{protocol::Fence{path("/w"), Zxid{2}}});
  add(in, 1, 8, protocol::RemoveWatchRequest{path("/"), protocol::WatchKind::persistent_recursive});
  in.push_back(static_cast<char>(0xFF));
  in.push_back(0);
  add(in, 0xFC, 9, protocol::KeepAliveRequest{});  // long wait: session 2 expires
  return in;
}

}  // namespace

std::vector<std::string> client_seed_inputs() {
  std::string moved;
  open(moved, 3);
  add(moved, 3, 2, create("/m", "", protocol::NodeKind::ephemeral));
  add(moved, 0, 1, protocol::OpenSessionRequest{1000, SessionId{1}, Zxid{3}});
  return {writes(), reads_and_watches(), moved};
}

}  // namespace synod::fuzz
