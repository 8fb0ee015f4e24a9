// synod-sim: the deterministic simulator's command line.
//
//   synod-sim --seed S               run one seed
//   synod-sim --seeds A:B            run seeds A..B inclusive
//   synod-sim --canary NAME ...      turn one deliberate bug on
//   synod-sim --list-canaries        list the deliberate bugs
//   synod-sim --expect-failure ...   succeed only if some seed fails (for
//                                    proving a canary is caught); stops at
//                                    the first failing seed
//   synod-sim --log full ...         print every transition with its tick
//   synod-sim --large-entries ...    proposals of up to command_bytes_max
//                                    (consensus workload)
//
// Each seed runs in a forked child, so an assertion inside the core fails
// that seed (with its replay command) instead of ending the whole range.
// The closing line is "sim: N passed, M failed".
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>

#include "tests/sim/cluster.h"
#include "tests/sim/options.h"
#include "tests/sim/store_cluster.h"

namespace {

struct Args {
  std::uint64_t seed = 0;
  std::string seeds;
  std::string canary;
  std::string log = "short";
  std::string workload = "both";
  bool list_canaries = false;
  bool expect_failure = false;
  bool large_entries = false;
};

std::string replay_command(std::uint64_t seed, const Args& args) {
  std::string cmd = "synod-sim --seed " + std::to_string(seed);
  if (args.workload != "both") cmd += " --workload " + args.workload;
  if (args.large_entries) cmd += " --large-entries";
  if (!args.canary.empty()) cmd += " --canary " + args.canary;
  return cmd + " --log full";
}

void print_passed(std::uint64_t seed, const char* workload, const synod::sim::RunResult& r) {
  const bool store = std::string(workload) == "store";
  std::printf(
      "seed %llu: %s workload passed in %llu ticks: %llu slots chosen, %llu %s, "
      "%llu leaderships, %llu crashes, %llu reconfigurations, %llu snapshots installed, "
      "%llu %s, %llu messages\n",
      static_cast<unsigned long long>(seed), workload, static_cast<unsigned long long>(r.ticks),
      static_cast<unsigned long long>(r.slots_chosen),
      static_cast<unsigned long long>(r.proposals), store ? "writes checked" : "proposals",
      static_cast<unsigned long long>(r.leaderships),
      static_cast<unsigned long long>(r.crashes),
      static_cast<unsigned long long>(r.reconfigurations),
      static_cast<unsigned long long>(r.snapshots_installed),
      static_cast<unsigned long long>(r.reads_served), store ? "reads checked" : "reads",
      static_cast<unsigned long long>(r.messages));
}

// Runs one seed in this process; returns the exit code for the child.
int run_seed(std::uint64_t seed, const Args& args) {
  synod::sim::SimOptions options = synod::sim::options_from_seed(seed, args.canary);
  if (args.large_entries) synod::sim::use_large_entries(options);
  if (args.log != "none") {
    std::printf("seed %llu: %s\n", static_cast<unsigned long long>(seed),
                options.describe().c_str());
    std::fflush(stdout);
  }
  synod::sim::RunResult r;
  if (args.workload != "store") {
    synod::sim::Cluster cluster(options, args.log == "full");
    r = cluster.run();
    if (r.passed && args.log != "none") print_passed(seed, "consensus", r);
  }
  if (args.workload != "consensus" && (r.passed || args.workload == "store")) {
    synod::sim::StoreCluster cluster(options, args.log == "full");
    r = cluster.run();
    if (r.passed && args.log != "none") print_passed(seed, "store", r);
  }
  if (r.passed) return 0;
  std::printf("seed %llu: FAILED at tick %llu: %s\n", static_cast<unsigned long long>(seed),
              static_cast<unsigned long long>(r.ticks), r.failure.c_str());
  return 1;
}

bool run_forked(std::uint64_t seed, const Args& args) {
  std::fflush(stdout);
  const pid_t pid = fork();
  if (pid < 0) {
    std::perror("synod-sim: fork");
    std::exit(2);
  }
  if (pid == 0) {
    const int code = run_seed(seed, args);
    std::fflush(stdout);
    _exit(code);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  const bool passed = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  if (!passed) {
    if (WIFSIGNALED(status)) {
      std::printf("seed %llu: FAILED: the replica aborted (signal %d), see the assertion above\n",
                  static_cast<unsigned long long>(seed), WTERMSIG(status));
    }
    std::printf("replay: %s\n", replay_command(seed, args).c_str());
  }
  return passed;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"synod-sim: Synod's consensus core under a simulated network, disks and faults"};
  Args args;
  auto* seed_opt = app.add_option("--seed", args.seed, "run one seed");
  app.add_option("--seeds", args.seeds, "run a range of seeds, A:B inclusive")->excludes(seed_opt);
  app.add_option("--canary", args.canary, "turn on one deliberate bug (see --list-canaries)");
  app.add_option("--log", args.log, "none, short (one line per seed) or full (every transition)")
      ->check(CLI::IsMember({"none", "short", "full"}));
  app.add_option("--workload", args.workload,
                 "consensus (the core with a hash-chain state machine), store (replicas, "
                 "clients and the reference model) or both, in that order")
      ->check(CLI::IsMember({"consensus", "store", "both"}));
  app.add_flag("--list-canaries", args.list_canaries, "list the deliberate bugs and exit");
  app.add_flag("--large-entries", args.large_entries,
               "propose commands of up to consensus::command_bytes_max, near the frame limit");
  app.add_flag("--expect-failure", args.expect_failure,
               "succeed only if a seed fails; stop at the first failure");
  CLI11_PARSE(app, argc, argv);

  if (args.list_canaries) {
    for (const std::string& name : synod::sim::canary_names()) std::printf("%s\n", name.c_str());
    return 0;
  }
  if (!args.canary.empty()) {
    const auto& names = synod::sim::canary_names();
    if (std::find(names.begin(), names.end(), args.canary) == names.end()) {
      std::fprintf(stderr, "synod-sim: unknown canary '%s' (see --list-canaries)\n",
                   args.canary.c_str());
      return 2;
    }
  }
  std::uint64_t first = args.seed, last = args.seed;
  if (!args.seeds.empty()) {
    const auto colon = args.seeds.find(':');
    try {
      if (colon == std::string::npos) throw std::invalid_argument("no colon");
      first = std::stoull(args.seeds.substr(0, colon));
      last = std::stoull(args.seeds.substr(colon + 1));
    } catch (const std::exception&) {
      std::fprintf(stderr, "synod-sim: --seeds wants A:B, got '%s'\n", args.seeds.c_str());
      return 2;
    }
    if (last < first) {
      std::fprintf(stderr, "synod-sim: --seeds %s is empty (B < A)\n", args.seeds.c_str());
      return 2;
    }
  }

  const auto started = std::chrono::steady_clock::now();
  std::uint64_t passed = 0, failed = 0;
  for (std::uint64_t seed = first; seed <= last; ++seed) {
    if (run_forked(seed, args)) {
      ++passed;
    } else {
      ++failed;
      if (args.expect_failure) break;
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("sim: %llu passed, %llu failed (%.1f seeds/s)\n",
              static_cast<unsigned long long>(passed), static_cast<unsigned long long>(failed),
              seconds > 0 ? static_cast<double>(passed + failed) / seconds : 0.0);
  if (args.expect_failure) {
    if (failed == 0) std::printf("sim: expected a failure (canary %s) but every seed passed\n",
                                 args.canary.c_str());
    return failed > 0 ? 0 : 1;
  }
  return failed == 0 ? 0 : 1;
}
