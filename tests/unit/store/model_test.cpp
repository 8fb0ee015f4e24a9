// The store versus its naive model: thousands of random entries over a small
// path space, agreeing on every response, event, stat, child and session.
#include "model.h"

#include <doctest/doctest.h>

#include <set>
#include <string>
#include <vector>

#include "base/prng.h"
#include "server/store/store.h"

using namespace synod;
using namespace synod::store;

namespace {

Path path_of(const std::string& text) {
  Result<Path> parsed = Path::parse(text);
  REQUIRE(parsed.ok());
  return std::move(parsed).value();
}

// Draws commands over paths made of {a, b, c, q-} up to depth 3, from a few
// sessions (some of them never opened or already gone).
class Generator {
 public:
  Generator(base::Prng& prng, const testing::Model& model) : prng_(prng), model_(model) {}

  Command next(std::int64_t log_time_ms, const Store& store) {
    const auto roll = prng_.below(100);
    if (roll < 6) return OpenSessionCommand{static_cast<std::int64_t>(prng_.range(0, 3000))};
    if (roll < 9) return CloseSessionCommand{session()};
    if (roll < 12) return ExpireSessionsCommand{{session(), session()}};
    if (roll < 16) return ttl_removal(log_time_ms, store);
    if (roll < 18) return NoopCommand{};
    if (roll < 35) {
      MultiCommand multi{session(), maybe_fence(), {}};
      const auto count = prng_.below(5);
      for (std::uint64_t i = 0; i < count; ++i) multi.ops.push_back(MultiOp{op(), maybe_fence()});
      return multi;
    }
    return WriteCommand{session(), maybe_fence(), op()};
  }

 private:
  SessionId session() {
    const auto& sessions = model_.sessions();
    if (sessions.empty() || prng_.chance_permille(100)) return SessionId{prng_.range(0, 5)};
    auto it = sessions.begin();
    std::advance(it, static_cast<long>(prng_.below(sessions.size())));
    return SessionId{it->first};
  }

  std::string random_path() {
    static const char* names[] = {"a", "b", "c", "q-"};
    std::string path;
    const auto depth = prng_.range(1, 3);
    for (std::uint64_t i = 0; i < depth; ++i) path += std::string("/") + names[prng_.below(4)];
    return path;
  }

  // Mostly an existing node, so sets, deletes and fences often succeed.
  std::string target_path() {
    const auto& nodes = model_.nodes();
    if (prng_.chance_permille(300)) return random_path();
    auto it = nodes.begin();
    std::advance(it, static_cast<long>(prng_.below(nodes.size())));
    return it->first;
  }

  std::optional<std::int32_t> version() {
    if (prng_.chance_permille(500)) return std::nullopt;
    return static_cast<std::int32_t>(prng_.below(3));
  }

  std::string data() { return std::string(prng_.chance_permille(30) ? 40 : prng_.below(6), 'x'); }

  std::optional<Fence> maybe_fence() {
    if (!prng_.chance_permille(150)) return std::nullopt;
    const std::string path = target_path();
    const auto it = model_.nodes().find(path);
    const std::uint64_t czxid = it == model_.nodes().end() ? 0 : it->second.czxid;
    return Fence{path_of(path), Zxid{prng_.chance_permille(700) ? czxid : prng_.below(50)}};
  }

  Op op() {
    const auto roll = prng_.below(100);
    if (roll < 45) {
      CreateOp c;
      c.path = path_of(random_path());
      c.data = data();
      c.kind = static_cast<NodeKind>(prng_.below(4));
      c.sequential = prng_.chance_permille(300);
      if (c.kind == NodeKind::ttl || prng_.chance_permille(20)) {
        c.ttl_ms = static_cast<std::int64_t>(prng_.range(0, 100));
      }
      c.parents = static_cast<MissingParents>(prng_.chance_permille(700) ? 0 : prng_.range(1, 2));
      return c;
    }
    if (roll < 65) return DeleteOp{path_of(target_path()), version()};
    if (roll < 90) return SetOp{path_of(target_path()), data(), version()};
    return CheckOp{path_of(target_path()), version()};
  }

  Command ttl_removal(std::int64_t log_time_ms, const Store& store) {
    RemoveExpiredTtlCommand command;
    // What a leader would propose a little earlier, plus random paths.
    for (Path& p : store.expired_ttl_nodes(log_time_ms - 20, ttl_removals_max)) {
      command.paths.push_back(std::move(p));
    }
    if (prng_.chance_permille(500)) command.paths.push_back(path_of(target_path()));
    return command;
  }

  base::Prng& prng_;
  const testing::Model& model_;
};

void require_same_state(const Store& store, const testing::Model& model, std::int64_t now_ms) {
  REQUIRE(store.node_count() == model.nodes().size());
  for (const auto& [path, node] : model.nodes()) {
    CAPTURE(path);
    const Result<NodeView> got = store.get(path_of(path));
    REQUIRE(got.ok());
    CHECK(got.value().stat == model.stat(path));
    CHECK(got.value().data == node.data);
    CHECK(got.value().kind == node.kind);
    // Children, read in pages of 2 to exercise the cursor.
    std::vector<std::string> names;
    std::string after;
    for (;;) {
      const Result<ChildrenPage> page = store.children(path_of(path), after, 2);
      REQUIRE(page.ok());
      for (const ChildEntry& child : page.value().entries) names.push_back(child.name);
      if (!page.value().more) break;
      after = names.back();
    }
    CHECK(names == model.children(path));
  }
  REQUIRE(store.session_count() == model.sessions().size());
  for (const auto& [id, timeout_ms] : model.sessions()) {
    CHECK(store.session_exists(SessionId{id}));
    const auto ephemerals = store.ephemerals(SessionId{id});
    REQUIRE(ephemerals.ok());
    CHECK(ephemerals.value() == model.ephemerals(id));
  }
  std::vector<std::string> expired;
  for (const Path& p : store.expired_ttl_nodes(now_ms, ttl_removals_max))
    expired.push_back(p.text());
  CHECK(expired == model.expired_ttl(now_ms));
}

}  // namespace

TEST_CASE("store versus model: random entries agree on responses, events, stats and children") {
  StoreConfig config;
  config.data_bytes_max = 32;
  config.nodes_max = 30;
  config.sessions_max = 4;
  std::size_t failures_seen = 0, multis_rolled_back = 0;
  std::set<Error> errors_seen;
  for (std::uint64_t seed = 1; seed <= 12; ++seed) {
    CAPTURE(seed);
    base::Prng prng(seed);
    Store store(config);
    testing::Model model(config);
    Generator generator(prng, model);
    std::int64_t now_ms = 1000;
    for (std::uint64_t slot = 1; slot <= 1500; ++slot) {
      CAPTURE(slot);
      now_ms += static_cast<std::int64_t>(prng.below(30));
      const Command command = generator.next(now_ms, store);
      const ApplyResult got = store.apply(Zxid{slot}, now_ms, command);
      const ApplyResult want = model.apply(Zxid{slot}, now_ms, command);
      REQUIRE(got.response.status.error == want.response.status.error);
      CHECK(got.response.status.ok() == got.response.status.message.empty());
      REQUIRE(got.response.ops == want.response.ops);
      REQUIRE(got.response.session == want.response.session);
      REQUIRE(got.events == want.events);
      REQUIRE(store.applied_zxid() == Zxid{slot});
      if (!got.response.status.ok()) ++failures_seen;
      if (std::holds_alternative<MultiCommand>(command) && !got.response.status.ok()) {
        ++multis_rolled_back;
      }
      for (const OpResult& op : got.response.ops) errors_seen.insert(op.error);
      if (slot % 50 == 0) require_same_state(store, model, now_ms);
      if (slot % 500 == 0) {
        Store copy(config);
        REQUIRE(copy.load_snapshot(store.serialize_snapshot()).ok());
        REQUIRE(copy.digest() == store.digest());
        store = std::move(copy);  // carry on from the loaded copy
      }
    }
    require_same_state(store, model, now_ms);
  }
  // The generator reached the interesting branches (else the test proves little).
  CHECK(failures_seen > 1000);
  CHECK(multis_rolled_back > 100);
  for (Error e :
       {Error::OK, Error::NO_NODE, Error::NODE_EXISTS, Error::BAD_VERSION, Error::NOT_EMPTY,
        Error::NO_CHILDREN_FOR_EPHEMERALS, Error::BAD_ARGUMENTS, Error::TOO_LARGE, Error::FENCED,
        Error::SESSION_EXPIRED, Error::LIMIT_EXCEEDED, Error::ROLLED_BACK, Error::NOT_EXECUTED}) {
    CAPTURE(error_name(e));
    CHECK(errors_seen.contains(e));
  }
}
