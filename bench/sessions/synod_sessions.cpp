// synod-sessions: how session count costs. Opens --sessions sessions one
// after another through the client library (each its own connection and
// client thread, as an application holding them would), printing how long
// each --step of them took to open, then holds them all idle for
// --hold-seconds while it samples the CPU time of the processes named by
// --pids (the ensemble's synodd servers; Linux /proc), and prints the
// servers' CPU as a share of one core. Stops by itself; closes every
// session before it exits.
//
//   synod-sessions --servers 127.0.0.1:7001,... --sessions 2000 --step 500
//                  --hold-seconds 20 --pids 1234,1235,1236
//
// Several of these side by side hold more sessions than one process can
// (bench/sessions.sh runs the whole measurement on loopback).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "synod/client.h"

namespace {

using Clock = std::chrono::steady_clock;

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

struct Args {
  std::string servers = "127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003";
  std::size_t sessions = 1000;
  std::size_t step = 250;
  int hold_seconds = 10;
  std::int64_t session_timeout_ms = 10000;
  std::string pids;
  std::string label = "synod-sessions";
};

// Opens the sessions, printing each step's time. False when one failed.
bool open_all(const Args& a, const synod::ClientOptions& options,
              std::vector<std::unique_ptr<synod::Client>>& held) {
  auto step_began = Clock::now();
  for (std::size_t i = 1; i <= a.sessions; ++i) {
    auto client = synod::Client::connect(options);
    if (!client.ok()) {
      std::fprintf(stderr, "%s: session %zu did not open: %s\n", a.label.c_str(), i,
                   client.error().message.c_str());
      return false;
    }
    held.push_back(std::move(client).value());
    if (i % a.step == 0 || i == a.sessions) {
      const double took = std::chrono::duration<double>(Clock::now() - step_began).count();
      std::printf("%s: opened sessions %zu-%zu in %.2f s\n", a.label.c_str(),
                  i - (i - 1) % a.step, i, took);
      std::fflush(stdout);
      step_began = Clock::now();
    }
  }
  return true;
}

// Holds the sessions idle, printing the servers' CPU share each second and
// overall. False when a session was lost meanwhile.
bool hold(const Args& a, const std::vector<int>& pids,
          const std::vector<std::unique_ptr<synod::Client>>& held) {
  const double cpu_began = total_cpu(pids);
  const auto began = Clock::now();
  for (int s = 0; s < a.hold_seconds; ++s) {
    std::this_thread::sleep_for(std::chrono::seconds(1));  // a sampling period, not a wait
  }
  const double wall = std::chrono::duration<double>(Clock::now() - began).count();
  const double cpu_ended = total_cpu(pids);
  std::size_t lost = 0;
  for (const auto& c : held) {
    const synod::SessionState state = c->state();
    if (state == synod::SessionState::expired || state == synod::SessionState::closed) ++lost;
  }
  if (!pids.empty() && cpu_began >= 0 && cpu_ended >= 0) {
    std::printf("%s: %zu sessions idle for %.1f s: the servers used %.1f%% of one core\n",
                a.label.c_str(), held.size(), wall, 100.0 * (cpu_ended - cpu_began) / wall);
  } else {
    std::printf("%s: %zu sessions idle for %.1f s\n", a.label.c_str(), held.size(), wall);
  }
  if (lost != 0) std::printf("%s: %zu sessions were lost while idle\n", a.label.c_str(), lost);
  return lost == 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"synod-sessions: the cost of holding many sessions"};
  Args a;
  app.add_option("--servers", a.servers, "HOST:PORT,... of the ensemble");
  app.add_option("--sessions", a.sessions, "sessions to open, one after another")
      ->check(CLI::Range(1, 20000));
  app.add_option("--step", a.step, "report the opening time of every STEP sessions")
      ->check(CLI::Range(1, 20000));
  app.add_option("--hold-seconds", a.hold_seconds, "how long to hold them idle")
      ->check(CLI::Range(0, 3600));
  app.add_option("--session-timeout-ms", a.session_timeout_ms, "each session's timeout")
      ->check(CLI::Range(1000, 600000));
  app.add_option("--pids", a.pids, "PID,... of the servers whose CPU to sample while idle");
  app.add_option("--label", a.label, "prefix of every line printed");
  CLI11_PARSE(app, argc, argv);

  synod::ClientOptions options;
  options.servers = synod::split_servers(a.servers);
  options.session_timeout_ms = a.session_timeout_ms;
  if (const std::string invalid = synod::validate(options); !invalid.empty()) {
    std::fprintf(stderr, "%s: %s\n", a.label.c_str(), invalid.c_str());
    return 2;
  }
  std::vector<int> pids;
  try {
    pids = parse_pids(a.pids);
  } catch (const std::exception&) {
    std::fprintf(stderr, "%s: --pids must be PID,PID,...\n", a.label.c_str());
    return 2;
  }
  std::vector<std::unique_ptr<synod::Client>> held;
  held.reserve(a.sessions);
  const bool opened = open_all(a, options, held);
  const bool kept = opened && hold(a, pids, held);
  held.clear();  // closes every session
  return kept ? 0 : 1;
}
