// synod-bench: closed-loop load against a running ensemble, so throughput
// and commit latency can be seen. N clients (each its own session and
// thread) keep one request outstanding each, so N is the number
// outstanding; every request is a set, a linearizable get or a create.
// Prints progress every second and a summary: requests per second and
// latency percentiles. Stops by itself after --seconds.
//
//   synod-bench --servers 127.0.0.1:7001,... --clients 64 --op set --seconds 10
//
// The side-by-side comparison with ZooKeeper and etcd is a separate tool.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "synod/client.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Totals {
  std::mutex mutex;
  std::vector<double> latencies_us;  // of successful requests
  std::atomic<std::uint64_t> ok{0};
  std::atomic<std::uint64_t> failed{0};
};

void run_client(const synod::ClientOptions& options, const std::string& op, std::size_t index,
                std::size_t value_bytes, Clock::time_point end, Totals& totals) {
  auto connected = synod::Client::connect(options);
  if (!connected.ok()) {
    std::fprintf(stderr, "synod-bench: client %zu could not connect: %s\n", index,
                 connected.error().message.c_str());
    totals.failed += 1;
    return;
  }
  auto& client = *connected.value();
  const std::string path = "/synod-bench-" + std::to_string(index);
  const std::string value(value_bytes, 'x');
  (void)client.create(path, value);  // NODE_EXISTS from an earlier run is fine
  std::vector<double> mine;
  for (std::uint64_t n = 0; Clock::now() < end; ++n) {
    const auto start = Clock::now();
    bool ok = false;
    if (op == "set") {
      ok = client.set(path, value).ok();
    } else if (op == "get") {
      ok = client.get(path).ok();
    } else {
      ok = client.create(path + "/c" + std::to_string(n), value).ok();
    }
    const double us = std::chrono::duration<double, std::micro>(Clock::now() - start).count();
    if (ok) {
      ++totals.ok;
      mine.push_back(us);
    } else {
      ++totals.failed;
    }
  }
  std::lock_guard lock(totals.mutex);
  totals.latencies_us.insert(totals.latencies_us.end(), mine.begin(), mine.end());
}

double percentile(std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const auto i = static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1));
  return sorted[i];
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"synod-bench: closed-loop load against a Synod ensemble"};
  std::string servers = "127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003";
  std::size_t clients = 16;
  std::string op = "set";
  int seconds = 10;
  std::size_t value_bytes = 64;
  app.add_option("--servers", servers, "HOST:PORT,... of the ensemble");
  app.add_option("--clients", clients, "sessions, one request outstanding each")
      ->check(CLI::Range(1, 1024));
  app.add_option("--op", op, "set, get or create")->check(CLI::IsMember({"set", "get", "create"}));
  app.add_option("--seconds", seconds, "how long to run")->check(CLI::Range(1, 3600));
  app.add_option("--value-bytes", value_bytes, "bytes per value")->check(CLI::Range(0, 1 << 20));
  CLI11_PARSE(app, argc, argv);

  synod::ClientOptions options;
  for (std::size_t start = 0; start <= servers.size();) {
    const auto comma = std::min(servers.find(',', start), servers.size());
    if (comma > start) options.servers.push_back(servers.substr(start, comma - start));
    start = comma + 1;
  }
  std::printf("synod-bench: %zu clients, op %s, %d s, %zu-byte values, servers %s\n", clients,
              op.c_str(), seconds, value_bytes, servers.c_str());
  Totals totals;
  const auto began = Clock::now();
  const auto end = began + std::chrono::seconds(seconds);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < clients; ++i) {
    threads.emplace_back(run_client, std::cref(options), std::cref(op), i, value_bytes, end,
                         std::ref(totals));
  }
  std::uint64_t last = 0;
  while (Clock::now() < end) {
    std::this_thread::sleep_for(std::chrono::seconds(1));  // progress, not synchronisation
    const std::uint64_t now_ok = totals.ok.load();
    std::printf("synod-bench: %llu requests/s (%llu failed so far)\n",
                static_cast<unsigned long long>(now_ok - last),
                static_cast<unsigned long long>(totals.failed.load()));
    std::fflush(stdout);
    last = now_ok;
  }
  for (auto& t : threads) t.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - began).count();
  std::sort(totals.latencies_us.begin(), totals.latencies_us.end());
  std::printf(
      "synod-bench: %llu ok, %llu failed in %.1f s: %.0f requests/s; latency p50 %.0f us, "
      "p99 %.0f us, max %.0f us\n",
      static_cast<unsigned long long>(totals.ok.load()),
      static_cast<unsigned long long>(totals.failed.load()), elapsed,
      static_cast<double>(totals.ok.load()) / elapsed, percentile(totals.latencies_us, 0.5),
      percentile(totals.latencies_us, 0.99),
      totals.latencies_us.empty() ? 0.0 : totals.latencies_us.back());
  return totals.ok.load() > 0 ? 0 : 1;
}
