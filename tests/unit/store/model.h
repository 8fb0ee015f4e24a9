// A naive twin of Store (STYLE.md habit 14): the same semantics written the
// dumbest way — one std::map from full path to node, children found by
// scanning, a multi run on a copy of the whole state. Slow and obviously
// right, so the randomised test can demand that Store agrees on everything.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "server/store/command.h"
#include "server/store/store.h"

namespace synod::store::testing {

struct ModelNode {
  std::string data;
  std::uint64_t czxid = 0, mzxid = 0, pzxid = 0;
  std::int64_t ctime_ms = 0, mtime_ms = 0;
  std::int32_t version = 0, cversion = 0;
  NodeKind kind = NodeKind::persistent;
  std::uint64_t owner = 0;  // ephemeral only
  std::int64_t ttl_ms = 0;  // ttl only
};

class Model {
 public:
  explicit Model(StoreConfig config);

  ApplyResult apply(Zxid zxid, std::int64_t log_time_ms, const Command& command);

  [[nodiscard]] const std::map<std::string, ModelNode>& nodes() const { return nodes_; }
  [[nodiscard]] const std::map<std::uint64_t, std::int64_t>& sessions() const { return sessions_; }
  [[nodiscard]] Stat stat(const std::string& path) const;
  [[nodiscard]] std::vector<std::string> children(const std::string& path) const;
  [[nodiscard]] std::vector<std::string> ephemerals(std::uint64_t session) const;
  [[nodiscard]] std::vector<std::string> expired_ttl(std::int64_t log_time_ms) const;

 private:
  struct Ctx {
    std::uint64_t zxid;
    std::int64_t time;
    std::uint64_t session;
    std::vector<Event>* events;
    std::vector<std::string> containers;
  };
  Error op(Ctx& ctx, const Op& op, OpResult& result);
  Error create(Ctx& ctx, const CreateOp& op, OpResult& result);
  Error fence_error(const std::optional<Fence>& fence) const;
  void add(Ctx& ctx, const std::string& path, ModelNode node);
  void remove(Ctx& ctx, const std::string& path);
  void drop_session(Ctx& ctx, std::uint64_t id);
  void sweep_containers(Ctx& ctx);
  bool ttl_due(const std::string& path, std::int64_t time) const;

  StoreConfig config_;
  std::map<std::string, ModelNode> nodes_;
  std::map<std::uint64_t, std::int64_t> sessions_;
};

}  // namespace synod::store::testing
