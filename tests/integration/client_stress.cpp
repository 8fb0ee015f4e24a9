// synod-client-stress: opens and closes many sessions one after another
// through the client library, a few of them overlapping, while its driver
// (client_stress_test.py) SIGKILLs and restarts servers of the ensemble.
//
// Usage: synod-client-stress --servers H:P,H:P,H:P [--sessions N] [--overlap K]
//                            [--noise T]
//   N sessions (default 1500) in sequence; up to K (default 8) stay open
//   while the next ones open. Session i is opened and dropped in one of four
//   ways (i % 4): blocking connect + an ephemeral create and a watch, kept
//   open among the K; blocking connect, dropped at once; callback connect,
//   dropped by the main thread; callback connect, dropped inside its own
//   callback (on the client thread). T busy threads (default: one per
//   core, at least 2) keep the machine loaded meanwhile.
// Every Client must either open or fail with a clean error (CONNECTION_LOSS
// or SESSION_EXPIRED, with a sentence), every operation must succeed or fail
// with one of the errors a server switch explains, and the process must not
// crash (the sanitizer builds turn any race or UB into a crash). Prints
// "progress I" every 50 sessions (the driver times its kills on them) and
// "PASS opened=.. failed=.." at the end; exit 1 with "FAIL: ..." otherwise
// (a watchdog fails a session that hangs); 2 for bad arguments.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "synod/client.h"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// One session may take an open_wait_ms, an operation's timeout and the
// destructor's close wait, with slack: past this it hangs.
constexpr auto session_budget = 30s;
constexpr int progress_every = 50;

std::atomic<std::int64_t> g_deadline_ms{0};  // since the epoch of Clock

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch())
      .count();
}

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "FAIL: %s\n", what.c_str());
  std::fflush(stderr);
  std::_Exit(1);
}

void watchdog() {
  for (;;) {
    std::this_thread::sleep_for(100ms);  // polling interval of the watchdog
    if (now_ms() > g_deadline_ms.load()) fail("a session did not finish within its budget");
  }
}

void arm(std::int64_t i) {
  g_deadline_ms = now_ms() + std::chrono::milliseconds(session_budget).count();
  if (i % progress_every == 0) {
    std::printf("progress %lld\n", static_cast<long long>(i));
    std::fflush(stdout);
  }
}

// A failed connect must say why, with the errors Client::connect documents.
void check_open_error(const synod::Error& e, std::int64_t i) {
  const bool clean =
      e.code == synod::ErrorCode::CONNECTION_LOSS || e.code == synod::ErrorCode::SESSION_EXPIRED;
  if (!clean || e.message.empty()) {
    fail("session " + std::to_string(i) + " failed to open with " + std::string(e.name()) + " (" +
         e.message + ")");
  }
}

// An operation may fail only as a server switch explains.
template <class T>
void check_op(const synod::Result<T>& r, const std::string& what) {
  if (r.ok()) return;
  const synod::ErrorCode c = r.error().code;
  const bool clean = c == synod::ErrorCode::CONNECTION_LOSS || c == synod::ErrorCode::TIMEOUT ||
                     c == synod::ErrorCode::SESSION_EXPIRED || c == synod::ErrorCode::SESSION_MOVED;
  if (!clean || r.error().message.empty()) {
    fail(what + " failed with " + std::string(r.error().name()) + " (" + r.error().message + ")");
  }
}

struct Counts {
  std::int64_t opened = 0;
  std::int64_t failed = 0;
  void count(bool ok) { ok ? ++opened : ++failed; }
};

synod::ClientOptions options_for(const std::vector<std::string>& servers) {
  synod::ClientOptions o;
  o.servers = servers;
  o.session_timeout_ms = 2000;
  o.request_timeout_ms = 3000;
  o.connect_timeout_ms = 1000;
  o.open_wait_ms = 6000;
  return o;
}

// i % 4 == 0: opens, writes an ephemeral and watches it; kept among `kept`.
void open_and_use(const synod::ClientOptions& o, std::int64_t i,
                  std::deque<std::unique_ptr<synod::Client>>& kept, std::size_t overlap,
                  Counts& counts) {
  auto client = synod::Client::connect(o);
  counts.count(client.ok());
  if (!client.ok()) return check_open_error(client.error(), i);
  synod::Client& c = *client.value();
  const std::string path = "/stress-" + std::to_string(i);
  check_op(c.create(path, "x", synod::CreateOptions{synod::NodeKind::ephemeral}), "create " + path);
  check_op(c.set_watch(path, synod::WatchKind::persistent, [](const synod::WatchEvent&) {}),
           "set_watch " + path);
  kept.push_back(std::move(client).value());
  while (kept.size() > overlap) kept.pop_front();
}

// i % 4 == 1: opens and drops at once (the destructor closes the session).
void open_and_drop(const synod::ClientOptions& o, std::int64_t i, Counts& counts) {
  auto client = synod::Client::connect(o);
  counts.count(client.ok());
  if (!client.ok()) check_open_error(client.error(), i);
}

// i % 4 == 2 or 3: the callback form; 3 drops the Client inside its callback.
void open_async(const synod::ClientOptions& o, std::int64_t i, bool drop_inside, Counts& counts) {
  auto result = std::make_shared<std::promise<synod::Result<std::unique_ptr<synod::Client>>>>();
  auto future = result->get_future();
  synod::Client::connect(o, [result, drop_inside](synod::Result<std::unique_ptr<synod::Client>> r) {
    if (r.ok() && drop_inside) {
      const std::uint64_t id = r.value()->session_id();
      r.value().reset();  // on the client thread: the join moves to a thread of its own
      if (id == 0) fail("an opened client had no session id");
    }
    result->set_value(std::move(r));
  });
  auto r = future.get();
  counts.count(r.ok());
  if (!r.ok()) check_open_error(r.error(), i);
}

std::vector<std::string> split(const std::string& list) { return synod::split_servers(list); }

// Busy threads that keep every core loaded, so the scheduler preempts the
// library's threads at arbitrary points (a loaded machine, as in the field):
// that is what opens the windows between two of its steps.
std::atomic<bool> g_noise_stop{false};
void noise() {
  std::uint64_t x = 1;
  while (!g_noise_stop.load(std::memory_order_relaxed)) x = x * 6364136223846793005u + 1;
  if (x == 0) std::puts("");  // keeps the loop from being optimised away
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> servers;
  std::int64_t sessions = 1500;
  std::size_t overlap = 8;
  unsigned noise_threads = std::max(2u, std::thread::hardware_concurrency());
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--servers") {
      servers = split(argv[i + 1]);
    } else if (flag == "--sessions") {
      sessions = std::stoll(argv[i + 1]);
    } else if (flag == "--noise") {
      noise_threads = static_cast<unsigned>(std::stoul(argv[i + 1]));
    } else if (flag == "--overlap") {
      overlap = static_cast<std::size_t>(std::stoul(argv[i + 1]));
    } else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  if (servers.empty() || sessions <= 0) {
    std::fprintf(stderr, "usage: %s --servers H:P,... [--sessions N] [--overlap K]\n", argv[0]);
    return 2;
  }
  const synod::ClientOptions o = options_for(servers);
  arm(1);
  std::thread(watchdog).detach();
  std::vector<std::thread> noisy;
  for (unsigned n = 0; n < noise_threads; ++n) noisy.emplace_back(noise);
  Counts counts;
  std::deque<std::unique_ptr<synod::Client>> kept;
  const auto start = Clock::now();
  for (std::int64_t i = 0; i < sessions; ++i) {
    arm(i);
    switch (i % 4) {
      case 0: open_and_use(o, i, kept, overlap, counts); break;
      case 1: open_and_drop(o, i, counts); break;
      default: open_async(o, i, i % 4 == 3, counts); break;
    }
  }
  arm(1);
  kept.clear();
  g_noise_stop = true;
  for (auto& t : noisy) t.join();
  const auto seconds = std::chrono::duration<double>(Clock::now() - start).count();
  // Servers restart during the run, but a quorum serves throughout.
  if (counts.opened < sessions / 2) {
    fail("only " + std::to_string(counts.opened) + " of " + std::to_string(sessions) +
         " sessions opened");
  }
  std::printf("PASS opened=%lld failed=%lld in %.1f s\n", static_cast<long long>(counts.opened),
              static_cast<long long>(counts.failed), seconds);
  std::fflush(stdout);
  return 0;
}
