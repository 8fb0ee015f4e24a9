// synod-bench-store: how fast Store::apply runs in-process, and how many
// bytes of heap a small node costs (tree structure included).
//
//   synod-bench-store           1,000,000 nodes (1000 directories x 1000)
//   synod-bench-store --quick   20,000 nodes, a smoke run for ctest
//
// Memory is the glibc heap in use (mallinfo2().uordblks) after creating the
// nodes minus before, divided by the node count: it counts the node, its
// name and data, and its slot in the parent's child vector.
#include <malloc.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "server/store/store.h"

using namespace synod;
using namespace synod::store;

namespace {

using Clock = std::chrono::steady_clock;

Path must_parse(const std::string& text) {
  Result<Path> parsed = Path::parse(text);
  if (!parsed.ok()) {
    std::fprintf(stderr, "bench: bad path %s\n", text.c_str());
    std::abort();
  }
  return std::move(parsed).value();
}

std::string child_path(std::size_t dir, std::size_t child) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "/d%04zu/n%06zu", dir, child);
  return buffer;
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

void require_ok(const ApplyResult& result) {
  if (!result.response.status.ok()) {
    std::fprintf(stderr, "bench: apply failed: %s\n", result.response.status.message.c_str());
    std::abort();
  }
}

}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  const std::size_t dirs = quick ? 20 : 1000;
  const std::size_t per_dir = 1000;
  const std::size_t nodes = dirs * per_dir;

  Store store;
  std::uint64_t slot = 0;
  const std::int64_t now_ms = 1'700'000'000'000;
  const ApplyResult opened = store.apply(Zxid{++slot}, now_ms, OpenSessionCommand{10'000});
  require_ok(opened);
  const SessionId session = opened.response.session;
  for (std::size_t d = 0; d < dirs; ++d) {
    char name[16];
    std::snprintf(name, sizeof name, "/d%04zu", d);
    require_ok(store.apply(Zxid{++slot}, now_ms,
                           WriteCommand{session, std::nullopt,
                                        CreateOp{must_parse(name), "", NodeKind::persistent, false,
                                                 0, MissingParents::fail}}));
  }

  const std::size_t heap_before = mallinfo2().uordblks;
  auto start = Clock::now();
  for (std::size_t d = 0; d < dirs; ++d) {
    for (std::size_t c = 0; c < per_dir; ++c) {
      require_ok(store.apply(
          Zxid{++slot}, now_ms,
          WriteCommand{session, std::nullopt,
                       CreateOp{must_parse(child_path(d, c)), "value-01", NodeKind::persistent,
                                false, 0, MissingParents::fail}}));
    }
  }
  const double create_seconds = seconds_since(start);
  const std::size_t heap_after = mallinfo2().uordblks;

  start = Clock::now();
  for (std::size_t i = 0; i < nodes; ++i) {
    const std::size_t d = (i * 7919) % dirs;
    const std::size_t c = (i * 104729) % per_dir;
    require_ok(
        store.apply(Zxid{++slot}, now_ms,
                    WriteCommand{session, std::nullopt,
                                 SetOp{must_parse(child_path(d, c)), "value-02", std::nullopt}}));
  }
  const double set_seconds = seconds_since(start);

  start = Clock::now();
  const std::uint64_t digest = store.digest();
  const double digest_seconds = seconds_since(start);
  start = Clock::now();
  const std::string snapshot = store.serialize_snapshot();
  const double snapshot_seconds = seconds_since(start);

  std::printf("synod-bench-store: %zu small nodes (names of 7 bytes, 8 bytes of data)\n", nodes);
  std::printf("  create  %10.0f per second\n", static_cast<double>(nodes) / create_seconds);
  std::printf("  set     %10.0f per second\n", static_cast<double>(nodes) / set_seconds);
  std::printf("  memory  %10.1f bytes per node (heap in use, tree included)\n",
              static_cast<double>(heap_after - heap_before) / static_cast<double>(nodes));
  std::printf("  digest  %10.3f s (%016llx)\n", digest_seconds,
              static_cast<unsigned long long>(digest));
  std::printf("  snapshot %9.3f s, %zu bytes\n", snapshot_seconds, snapshot.size());
  return 0;
}
