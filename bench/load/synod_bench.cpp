// synod-bench: closed-loop load against a running ensemble, so throughput
// and commit latency can be seen. --sessions client sessions share
// --outstanding requests, each kept in flight with the library's callback
// API: when one completes the next is sent from its callback, so the load
// generator needs one thread per session, not one per request. Every
// request is a set, a linearizable get or a create. Prints progress every
// second and a summary: requests per second and latency percentiles. Stops
// by itself after --seconds.
//
//   synod-bench --servers 127.0.0.1:7001,... --sessions 4 --outstanding 256 --op set
//
// The side-by-side comparison with ZooKeeper and etcd is a separate tool.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "synod/client.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Run {
  std::string op;
  std::string value;
  Clock::time_point end;
  std::atomic<std::uint64_t> ok{0};
  std::atomic<std::uint64_t> failed{0};
  std::mutex mutex;  // guards the members below
  std::condition_variable idle;
  std::size_t running = 0;          // request loops not yet finished
  std::vector<double> latencies_us;  // of successful requests
  std::string first_error;
};

// One session's share of the outstanding requests. Its callbacks all run on
// the session's own thread, so `latencies_us` needs no lock until merged.
class Session {
 public:
  Session(Run& run, std::unique_ptr<synod::Client> client, std::size_t index)
      : run_(run), client_(std::move(client)), prefix_("/synod-bench-" + std::to_string(index)) {}

  // Starts `loops` request loops; each ends when the run does.
  void start(std::size_t loops) {
    for (std::size_t i = 0; i < loops; ++i) {
      const std::string path = prefix_ + "-" + std::to_string(i);
      (void)client_->create(path, run_.value);  // NODE_EXISTS from an earlier run is fine
      paths_.push_back(path);
    }
    for (std::size_t i = 0; i < loops; ++i) send(i);
  }

  void merge() {
    std::lock_guard lock(run_.mutex);
    run_.latencies_us.insert(run_.latencies_us.end(), latencies_us_.begin(), latencies_us_.end());
  }

 private:
  template <class T>
  void finish(std::size_t loop, Clock::time_point started, const synod::Result<T>& result) {
    if (result.ok()) {
      ++run_.ok;
      latencies_us_.push_back(
          std::chrono::duration<double, std::micro>(Clock::now() - started).count());
    } else {
      ++run_.failed;
      std::lock_guard lock(run_.mutex);
      if (run_.first_error.empty()) {
        run_.first_error = std::string(result.error().name()) + ": " + result.error().message;
      }
    }
    if (Clock::now() < run_.end) {
      send(loop);
      return;
    }
    std::lock_guard lock(run_.mutex);
    if (--run_.running == 0) run_.idle.notify_all();
  }

  void send(std::size_t loop) {
    const auto started = Clock::now();
    const std::string& path = paths_[loop];
    if (run_.op == "set") {
      client_->set(path, run_.value, {}, [this, loop, started](synod::Result<synod::Stat> r) {
        finish(loop, started, r);
      });
    } else if (run_.op == "get") {
      client_->get(path, {}, [this, loop, started](synod::Result<synod::Data> r) {
        finish(loop, started, r);
      });
    } else {
      client_->create(path + "/c", run_.value,
                      synod::CreateOptions{.sequential = true},
                      [this, loop, started](synod::Result<synod::Created> r) {
                        finish(loop, started, r);
                      });
    }
  }

  Run& run_;
  std::unique_ptr<synod::Client> client_;
  std::string prefix_;
  std::vector<std::string> paths_;
  std::vector<double> latencies_us_;
};

double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const auto i = static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1));
  return sorted[i];
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"synod-bench: closed-loop load against a Synod ensemble"};
  std::string servers = "127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003";
  std::size_t sessions = 4;
  std::size_t outstanding = 64;
  std::string op = "set";
  int seconds = 10;
  std::size_t value_bytes = 64;
  app.add_option("--servers", servers, "HOST:PORT,... of the ensemble");
  app.add_option("--sessions", sessions, "client sessions (each its own connection and thread)")
      ->check(CLI::Range(1, 256));
  app.add_option("--outstanding", outstanding,
                 "requests in flight at once, shared evenly by the sessions")
      ->check(CLI::Range(1, 65536));
  app.add_option("--op", op, "set, get or create")->check(CLI::IsMember({"set", "get", "create"}));
  app.add_option("--seconds", seconds, "how long to run")->check(CLI::Range(1, 3600));
  app.add_option("--value-bytes", value_bytes, "bytes per value")->check(CLI::Range(0, 1 << 20));
  CLI11_PARSE(app, argc, argv);
  sessions = std::min(sessions, outstanding);

  synod::ClientOptions options;
  options.servers = synod::split_servers(servers);
  if (const std::string invalid = synod::validate(options); !invalid.empty()) {
    std::fprintf(stderr, "synod-bench: %s\n", invalid.c_str());
    return 2;
  }
  std::printf("synod-bench: %zu sessions, %zu outstanding, op %s, %d s, %zu-byte values, "
              "servers %s\n",
              sessions, outstanding, op.c_str(), seconds, value_bytes, servers.c_str());
  Run run;
  run.op = op;
  run.value = std::string(value_bytes, 'x');
  std::vector<std::unique_ptr<Session>> open;
  for (std::size_t i = 0; i < sessions; ++i) {
    auto client = synod::Client::connect(options);
    if (!client.ok()) {
      std::fprintf(stderr, "synod-bench: session %zu could not connect: %s\n", i,
                   client.error().message.c_str());
      return 3;
    }
    open.push_back(std::make_unique<Session>(run, std::move(client).value(), i));
  }
  const auto began = Clock::now();
  run.end = began + std::chrono::seconds(seconds);
  run.running = outstanding;
  for (std::size_t i = 0; i < sessions; ++i) {
    open[i]->start(outstanding / sessions + (i < outstanding % sessions ? 1 : 0));
  }
  std::uint64_t last = 0;
  while (Clock::now() < run.end) {
    std::this_thread::sleep_for(std::chrono::seconds(1));  // progress, not synchronisation
    const std::uint64_t now_ok = run.ok.load();
    std::printf("synod-bench: %llu requests/s (%llu failed so far)\n",
                static_cast<unsigned long long>(now_ok - last),
                static_cast<unsigned long long>(run.failed.load()));
    std::fflush(stdout);
    last = now_ok;
  }
  {
    std::unique_lock lock(run.mutex);
    run.idle.wait(lock, [&run] { return run.running == 0; });  // every request answered
  }
  const double elapsed = std::chrono::duration<double>(Clock::now() - began).count();
  for (auto& s : open) s->merge();
  std::sort(run.latencies_us.begin(), run.latencies_us.end());
  std::printf(
      "synod-bench: %llu ok, %llu failed in %.1f s: %.0f requests/s; latency p50 %.0f us, "
      "p99 %.0f us, max %.0f us\n",
      static_cast<unsigned long long>(run.ok.load()),
      static_cast<unsigned long long>(run.failed.load()), elapsed,
      static_cast<double>(run.ok.load()) / elapsed, percentile(run.latencies_us, 0.5),
      percentile(run.latencies_us, 0.99),
      run.latencies_us.empty() ? 0.0 : run.latencies_us.back());
  if (!run.first_error.empty()) {
    std::printf("synod-bench: first error: %s\n", run.first_error.c_str());
  }
  open.clear();  // close the sessions
  return run.ok.load() > 0 ? 0 : 1;
}
