// synod: the command-line client. The commands, their parsing and output
// live in commands.cpp; this file wires the process: argv, the environment,
// stdin/stdout, SIGINT (which ends `watch`) and the exit code.
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/http.h"

namespace {

volatile std::sig_atomic_t interrupted_flag = 0;

extern "C" void on_interrupt(int) { interrupted_flag = 1; }

}  // namespace

int main(int argc, char** argv) {
  using namespace synod::cli;
  std::vector<std::string> words(argv + 1, argv + argc);
  std::optional<std::string> env_servers;
  if (const char* env = std::getenv("SYNOD_SERVERS")) env_servers = env;
  Parsed parsed = parse_argv(words, env_servers);
  if (parsed.exit >= 0) {
    (parsed.exit == exit_ok ? std::cout : std::cerr) << parsed.message;
    return parsed.exit;
  }
  const Command* command = find_command(parsed.command);
  Context context{nullptr, parsed.globals, std::cout, std::cerr, &std::cin, {}, {}};
  const std::int64_t timeout_ms = parsed.globals.timeout_ms;
  context.http_get = [timeout_ms](const std::string& admin) {
    return http_get(admin, "/status", timeout_ms);
  };
  context.interrupted = [] {
    const bool was = interrupted_flag != 0;
    interrupted_flag = 0;
    return was;
  };
  std::signal(SIGINT, on_interrupt);

  std::unique_ptr<synod::Client> client;
  if (command->needs_client) {
    synod::ClientOptions options;
    options.servers = parsed.globals.servers;
    options.request_timeout_ms = timeout_ms;
    options.open_wait_ms = timeout_ms;
    auto connected = synod::Client::connect(std::move(options));
    if (!connected.ok()) {
      const auto& error = connected.error();
      if (parsed.globals.json) {
        std::cerr << format_error(error, "", true) << "\n";
      } else {
        std::cerr << error.name() << ": " << error.message << "\n";
      }
      return connected.error().code == synod::ErrorCode::BAD_ARGUMENTS ? exit_usage
                                                                       : exit_unreachable;
    }
    client = std::move(connected).value();
    context.client = client.get();
  }
  return command->run(context, parsed.args);
}
