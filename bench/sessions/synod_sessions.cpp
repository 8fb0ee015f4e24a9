// synod-sessions: how session count costs. Opens --sessions sessions one
// after another (--parallel at a time), each a client/core SessionCore — the
// client library's own session logic, keep-alives every timeout / 3
// included — on its own TCP connection, all of them driven by one Asio event
// loop on one thread (synod::Client would start one thread per session,
// which at 10,000 sessions swamps the machine before the servers do). It
// prints how long each --step of them took to open, then holds them all idle
// for --hold-seconds while it samples the CPU time of the processes named by
// --pids (the ensemble's synodd servers; Linux /proc), and prints the
// servers' CPU as a share of one core, and its own. Stops by itself; closes
// every session before it exits.
//
//   synod-sessions --servers 127.0.0.1:7001,... --sessions 10000 --step 1000
//                  --hold-seconds 30 --pids 1234,1235,1236
//
// bench/sessions.sh runs the whole measurement on loopback.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <asio.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <queue>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include "base/assert.h"
#include "base/little_endian.h"
#include "base/prng.h"
#include "client/core/session_core.h"
#include "protocol/limits.h"

namespace {

using asio::ip::tcp;
using Clock = std::chrono::steady_clock;
namespace core = synod::client;
constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);
constexpr auto tick_period = std::chrono::milliseconds(5);

// User + system CPU seconds a process has used so far; -1 when it is gone.
double cpu_seconds(int pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  if (!std::getline(stat, text)) return -1;
  // Fields after the command name, which is in parentheses and may hold spaces.
  std::istringstream rest(text.substr(text.rfind(')') + 2));
  std::string field;
  unsigned long long utime = 0;
  unsigned long long stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double total_cpu(const std::vector<int>& pids) {
  double sum = 0;
  for (const int pid : pids) {
    const double s = cpu_seconds(pid);
    if (s < 0) return -1;
    sum += s;
  }
  return sum;
}

std::vector<int> parse_pids(const std::string& text) {
  std::vector<int> pids;
  std::istringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (!item.empty()) pids.push_back(std::stoi(item));
  }
  return pids;
}

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string one, five;
  in >> one >> five;
  return one + " " + five;
}

struct Args {
  std::string servers = "127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003";
  std::size_t sessions = 1000;
  std::size_t step = 250;
  std::size_t parallel = 1;
  int hold_seconds = 10;
  std::int64_t session_timeout_ms = 10000;
  std::uint64_t seed = 1;
  std::string pids;
  std::string label = "synod-sessions";
};

// One session: its core and its current connection. A connection is a
// reader and a writer coroutine (STYLE.md habit 5); `generation` tells a
// stale connection's coroutines that they are no longer wanted.
struct Session {
  Session(core::ClientOptions options, std::uint64_t seed, asio::io_context& io)
      : prng(seed), core(std::move(options), prng), socket(io), wake(io) {}
  synod::base::Prng prng;
  core::SessionCore core;
  tcp::socket socket;
  asio::steady_timer wake;       // cancelled to wake the writer
  std::vector<std::string> out;  // frames for the writer, in order
  std::uint64_t generation = 0;
  bool connected_once = false;
  bool lost = false;               // expired or closed before the end
  std::int64_t scheduled_ms = -1;  // the tick queue's entry for it
};

class Generator {
 public:
  Generator(Args args, std::vector<tcp::endpoint> endpoints, core::ClientOptions options)
      : a_(std::move(args)),
        endpoints_(std::move(endpoints)),
        options_(std::move(options)),
        epoch_(Clock::now()) {}

  int run();

 private:
  std::int64_t now_ms() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - epoch_).count();
  }
  void drain(std::size_t i);
  void handle_event(std::size_t i, const core::Event& event);
  void schedule(std::size_t i);
  void connect(std::size_t i, std::size_t server);
  void close_connection(Session& s);
  void lost_connection(std::size_t i, std::uint64_t generation);
  asio::awaitable<void> connection(std::size_t i, std::uint64_t generation, std::size_t server);
  asio::awaitable<void> reader(std::size_t i, std::uint64_t generation);
  asio::awaitable<void> writer(std::size_t i, std::uint64_t generation);
  asio::awaitable<void> ticker();
  asio::awaitable<void> measure();
  asio::awaitable<bool> open_all();
  asio::awaitable<bool> hold();
  asio::awaitable<void> close_all();
  asio::awaitable<void> pause(std::chrono::milliseconds period);
  void start_next();

  Args a_;
  std::vector<tcp::endpoint> endpoints_;
  core::ClientOptions options_;
  Clock::time_point epoch_;
  asio::io_context io_;
  std::vector<std::unique_ptr<Session>> sessions_;
  // (wakeup ms, session): on_tick is called when due; entries that no longer
  // match Session::scheduled_ms are stale and skipped.
  std::priority_queue<std::pair<std::int64_t, std::size_t>,
                      std::vector<std::pair<std::int64_t, std::size_t>>, std::greater<>>
      ticks_;
  std::size_t opened_ = 0;
  std::size_t started_ = 0;
  std::size_t disconnects_ = 0;
  std::size_t closed_ = 0;
  std::string failure_;
  bool done_ = false;
  int status_ = 1;
};

void Generator::drain(std::size_t i) {
  Session& s = *sessions_[i];
  for (auto& action : s.core.take_actions()) {
    if (const auto* c = std::get_if<core::Connect>(&action)) {
      connect(i, c->server);
    } else if (auto* send = std::get_if<core::Send>(&action)) {
      std::string frame;
      synod::base::put_u32(frame, static_cast<std::uint32_t>(send->bytes.size()));
      frame += send->bytes;
      s.out.push_back(std::move(frame));
      s.wake.cancel_one();
    } else {
      close_connection(s);
    }
  }
  for (const auto& event : s.core.take_events()) handle_event(i, event);
  (void)s.core.take_notes();
  schedule(i);
}

void Generator::handle_event(std::size_t i, const core::Event& event) {
  const auto* changed = std::get_if<core::SessionChanged>(&event);
  if (changed == nullptr) return;
  Session& s = *sessions_[i];
  switch (changed->status) {
    case core::SessionStatus::connected:
      if (s.connected_once) break;
      s.connected_once = true;
      ++opened_;
      break;
    case core::SessionStatus::disconnected: ++disconnects_; break;
    case core::SessionStatus::moved: break;
    case core::SessionStatus::expired:
      s.lost = true;
      if (failure_.empty())
        failure_ = "session " + std::to_string(i + 1) + " expired: " + changed->why;
      break;
    case core::SessionStatus::closed: ++closed_; break;
  }
}

void Generator::schedule(std::size_t i) {
  Session& s = *sessions_[i];
  const auto wake = s.core.next_wakeup_ms();
  if (!wake) return;
  // Never due at once again: the ticker's loop would not end.
  const std::int64_t at = std::max(*wake, now_ms() + 1);
  if (s.scheduled_ms >= 0 && s.scheduled_ms <= at) return;  // an earlier entry will do
  s.scheduled_ms = at;
  ticks_.emplace(at, i);
}

void Generator::connect(std::size_t i, std::size_t server) {
  Session& s = *sessions_[i];
  close_connection(s);
  s.socket = tcp::socket(io_);
  s.out.clear();
  asio::co_spawn(io_, connection(i, s.generation, server), asio::detached);
}

void Generator::close_connection(Session& s) {
  ++s.generation;
  asio::error_code ignored;
  s.socket.close(ignored);
  s.wake.cancel();
}

void Generator::lost_connection(std::size_t i, std::uint64_t generation) {
  Session& s = *sessions_[i];
  if (generation != s.generation) return;
  close_connection(s);
  s.core.on_disconnected(now_ms());
  drain(i);
}

asio::awaitable<void> Generator::connection(std::size_t i, std::uint64_t generation,
                                            std::size_t server) {
  Session& s = *sessions_[i];
  auto [err] = co_await s.socket.async_connect(endpoints_.at(server), use_tuple);
  if (generation != s.generation) co_return;
  if (err) {
    lost_connection(i, generation);
    co_return;
  }
  asio::error_code ignored;
  s.socket.set_option(tcp::no_delay(true), ignored);
  s.core.on_connected(now_ms());
  drain(i);
  if (generation != s.generation) co_return;
  asio::co_spawn(io_, writer(i, generation), asio::detached);
  co_await reader(i, generation);
}

// As the client library reads: a u32 length, then the frame.
asio::awaitable<void> Generator::reader(std::size_t i, std::uint64_t generation) {
  Session& s = *sessions_[i];
  std::array<unsigned char, 4> header{};
  std::string body;
  for (;;) {
    auto [herr, hn] = co_await asio::async_read(s.socket, asio::buffer(header), use_tuple);
    if (herr || generation != s.generation) break;
    const std::uint32_t length = synod::base::load_le<std::uint32_t>(header.data());
    if (length > synod::protocol::frame_bytes_max) break;
    body.resize(length);
    auto [berr, bn] = co_await asio::async_read(s.socket, asio::buffer(body), use_tuple);
    if (berr || generation != s.generation) break;
    s.core.on_frame(now_ms(), body);
    drain(i);
  }
  lost_connection(i, generation);
}

asio::awaitable<void> Generator::writer(std::size_t i, std::uint64_t generation) {
  Session& s = *sessions_[i];
  std::vector<std::string> batch;
  std::vector<asio::const_buffer> buffers;
  while (generation == s.generation) {
    if (s.out.empty()) {
      s.wake.expires_at(asio::steady_timer::time_point::max());
      (void)co_await s.wake.async_wait(use_tuple);
      continue;
    }
    batch = std::exchange(s.out, {});
    buffers.clear();
    for (const auto& frame : batch) buffers.emplace_back(asio::buffer(frame));
    auto [err, n] = co_await asio::async_write(s.socket, buffers, use_tuple);
    if (err) {
      lost_connection(i, generation);
      co_return;
    }
  }
}

// One timer for every session: each core's on_tick runs when its
// next_wakeup_ms() is due (within tick_period).
asio::awaitable<void> Generator::ticker() {
  asio::steady_timer timer(io_);
  while (!done_) {
    timer.expires_after(tick_period);
    co_await timer.async_wait(use_tuple);
    const std::int64_t now = now_ms();
    while (!ticks_.empty() && ticks_.top().first <= now) {
      const auto [at, i] = ticks_.top();
      ticks_.pop();
      Session& s = *sessions_[i];
      if (s.scheduled_ms != at) continue;
      s.scheduled_ms = -1;
      s.core.on_tick(now);
      drain(i);
    }
  }
}

asio::awaitable<void> Generator::pause(std::chrono::milliseconds period) {
  asio::steady_timer timer(io_, period);
  co_await timer.async_wait(use_tuple);
}

void Generator::start_next() {
  const std::size_t i = started_++;
  sessions_.push_back(std::make_unique<Session>(options_, a_.seed * 1000003 + i, io_));
  sessions_.back()->core.start(now_ms());
  drain(i);
}

// Opens the sessions, at most --parallel not yet open at a time, printing
// each step's time. False when one failed or none opened for 30 s.
asio::awaitable<bool> Generator::open_all() {
  auto step_began = Clock::now();
  auto progress = Clock::now();
  std::size_t reported = 0;
  while (reported < a_.sessions) {
    while (started_ < a_.sessions && started_ - opened_ < a_.parallel) start_next();
    co_await pause(std::chrono::milliseconds(1));  // the loop runs the sessions meanwhile
    if (!failure_.empty()) co_return false;
    if (opened_ != reported) progress = Clock::now();
    if (Clock::now() - progress > std::chrono::seconds(30)) {
      failure_ = "no session opened for 30 s (" + std::to_string(opened_) + " open)";
      co_return false;
    }
    while (reported < opened_) {
      ++reported;
      if (reported % a_.step != 0 && reported != a_.sessions) continue;
      const double took = std::chrono::duration<double>(Clock::now() - step_began).count();
      std::printf("%s: opened sessions %zu-%zu in %.2f s (load %s)\n", a_.label.c_str(),
                  reported - (reported - 1) % a_.step, reported, took, load_average().c_str());
      std::fflush(stdout);
      step_began = Clock::now();
    }
  }
  co_return true;
}

double own_cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

// Holds the sessions idle, then prints the servers' CPU share and this
// process's. False when a session was lost meanwhile.
asio::awaitable<bool> Generator::hold() {
  const std::vector<int> pids = parse_pids(a_.pids);
  const double cpu_began = total_cpu(pids);
  const double own_began = own_cpu_seconds();
  const std::size_t disconnects_began = disconnects_;
  const auto began = Clock::now();
  co_await pause(std::chrono::seconds(a_.hold_seconds));  // the sampling period
  const double wall = std::chrono::duration<double>(Clock::now() - began).count();
  const double cpu_ended = total_cpu(pids);
  const double own = 100.0 * (own_cpu_seconds() - own_began) / wall;
  const auto lost = static_cast<std::size_t>(
      std::count_if(sessions_.begin(), sessions_.end(), [](const auto& s) { return s->lost; }));
  if (!pids.empty() && cpu_began >= 0 && cpu_ended >= 0) {
    std::printf(
        "%s: %zu sessions idle for %.1f s: the servers used %.1f%% of one core, this "
        "process %.1f%% (load %s)\n",
        a_.label.c_str(), sessions_.size(), wall, 100.0 * (cpu_ended - cpu_began) / wall, own,
        load_average().c_str());
  } else {
    std::printf("%s: %zu sessions idle for %.1f s; this process used %.1f%% of one core\n",
                a_.label.c_str(), sessions_.size(), wall, own);
  }
  const std::size_t dropped = disconnects_ - disconnects_began;
  if (dropped != 0)
    std::printf("%s: %zu connections dropped while idle\n", a_.label.c_str(), dropped);
  if (lost != 0) std::printf("%s: %zu sessions were lost while idle\n", a_.label.c_str(), lost);
  co_return lost == 0;
}

// Closes every session (CloseSession), waiting at most 30 s for the answers.
asio::awaitable<void> Generator::close_all() {
  std::size_t closing = 0;
  for (std::size_t i = 0; i < sessions_.size(); ++i) {
    const core::Phase phase = sessions_[i]->core.phase();
    if (phase == core::Phase::expired || phase == core::Phase::closed) continue;
    (void)sessions_[i]->core.close(now_ms());
    drain(i);
    ++closing;
  }
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  while (closed_ < closing && Clock::now() < deadline) {
    co_await pause(std::chrono::milliseconds(10));
  }
  if (closed_ < closing) {
    std::printf("%s: %zu of %zu sessions were not closed in 30 s\n", a_.label.c_str(),
                closing - closed_, closing);
  }
}

asio::awaitable<void> Generator::measure() {
  const bool opened = co_await open_all();
  if (!opened) std::fprintf(stderr, "%s: %s\n", a_.label.c_str(), failure_.c_str());
  const bool kept = opened && co_await hold();
  co_await close_all();
  status_ = kept ? 0 : 1;
  done_ = true;
  for (auto& s : sessions_) close_connection(*s);
}

int Generator::run() {
  sessions_.reserve(a_.sessions);
  asio::co_spawn(io_, ticker(), asio::detached);
  asio::co_spawn(io_, measure(), asio::detached);
  io_.run();
  return status_;
}

// Each session holds a socket: raise the soft descriptor limit to the hard one.
void raise_descriptor_limit(const Args& a) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  limit.rlim_cur = limit.rlim_max;
  (void)setrlimit(RLIMIT_NOFILE, &limit);
  if (limit.rlim_cur < a.sessions + 64) {
    std::fprintf(stderr, "%s: the descriptor limit (%llu) is below %zu sessions\n", a.label.c_str(),
                 static_cast<unsigned long long>(limit.rlim_cur), a.sessions);
  }
}

// Numeric HOST:PORT only (the bench runs on loopback); empty on a bad one.
std::vector<tcp::endpoint> resolve(const std::vector<std::string>& servers) {
  std::vector<tcp::endpoint> endpoints;
  for (const std::string& server : servers) {
    const auto colon = server.rfind(':');
    asio::error_code ec;
    const auto address = asio::ip::make_address(server.substr(0, colon), ec);
    if (colon == std::string::npos || ec) return {};
    endpoints.emplace_back(address,
                           static_cast<unsigned short>(std::stoi(server.substr(colon + 1))));
  }
  return endpoints;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"synod-sessions: the cost of holding many sessions"};
  Args a;
  app.add_option("--servers", a.servers, "IP:PORT,... of the ensemble (numeric)");
  app.add_option("--sessions", a.sessions, "sessions to open")->check(CLI::Range(1, 20000));
  app.add_option("--step", a.step, "report the opening time of every STEP sessions")
      ->check(CLI::Range(1, 20000));
  app.add_option("--parallel", a.parallel, "sessions opening at once")->check(CLI::Range(1, 1000));
  app.add_option("--hold-seconds", a.hold_seconds, "how long to hold them idle")
      ->check(CLI::Range(0, 3600));
  app.add_option("--session-timeout-ms", a.session_timeout_ms, "each session's timeout")
      ->check(CLI::Range(1000, 600000));
  app.add_option("--seed", a.seed, "seeds the sessions' choice of server");
  app.add_option("--pids", a.pids, "PID,... of the servers whose CPU to sample while idle");
  app.add_option("--label", a.label, "prefix of every line printed");
  CLI11_PARSE(app, argc, argv);

  core::ClientOptions options;
  std::istringstream list(a.servers);
  for (std::string item; std::getline(list, item, ',');) {
    if (!item.empty()) options.servers.push_back(item);
  }
  options.session_timeout_ms = a.session_timeout_ms;
  const auto endpoints = resolve(options.servers);
  if (const auto valid = options.validate(); !valid.ok() || endpoints.empty()) {
    std::fprintf(stderr, "%s: %s\n", a.label.c_str(),
                 valid.ok() ? "--servers must be IP:PORT,..." : valid.message.c_str());
    return 2;
  }
  try {
    (void)parse_pids(a.pids);
  } catch (const std::exception&) {
    std::fprintf(stderr, "%s: --pids must be PID,PID,...\n", a.label.c_str());
    return 2;
  }
  raise_descriptor_limit(a);
  Generator generator(a, endpoints, options);
  return generator.run();
}
