// The `synod` CLI's commands: one table shared by the argv parser and the
// interactive shell, the pure mapping from arguments to client requests, the
// output formats and the exit codes. main.cpp only wires stdin/stdout, the
// signal handler and the process exit.
//
// Exit codes: 0 success; 1 the operation failed (the error name and the
// path are printed: "NO_NODE: /a/b"); 2 a usage error; 3 the ensemble is
// unreachable (no session opened, or CONNECTION_LOSS).
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "synod/client.h"

namespace CLI {
class App;
}

namespace synod::cli {

inline constexpr int exit_ok = 0;
inline constexpr int exit_failed = 1;
inline constexpr int exit_usage = 2;
inline constexpr int exit_unreachable = 3;

// Used when neither --servers nor SYNOD_SERVERS is given.
inline constexpr std::string_view default_servers = "127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003";
// `status` asks each server's admin HTTP endpoint; unless --admin is given
// it is the client port plus this offset (scripts/quickstart.sh's layout).
inline constexpr int admin_port_offset = 1000;
// Bounds of what the CLI walks: rm -r and ls -R visit at most this many
// nodes; shell history keeps this many lines; a shell line is this long.
inline constexpr std::size_t walk_nodes_max = 100'000;
inline constexpr std::size_t history_max = 1000;
inline constexpr std::size_t line_bytes_max = 1 << 20;

// Every command's arguments; each command reads the fields it declared.
struct Args {
  std::string path;
  std::optional<std::string> data;
  bool ephemeral = false;   // create -e
  bool sequential = false;  // create -s
  bool container = false;   // create -c
  bool parents = false;     // create -p
  std::optional<std::int64_t> ttl_ms;  // create --ttl
  std::optional<std::int32_t> version;  // set/rm --version
  bool with_stat = false;        // get --stat
  bool sequential_read = false;  // get --sequential
  bool long_list = false;        // ls -l
  bool recursive = false;        // ls -R, rm -r, watch -r
  std::optional<std::uint64_t> from_zxid;  // watch --from
};

struct Globals {
  std::vector<std::string> servers;
  std::vector<std::string> admin;  // HOST:PORT of each admin endpoint
  bool json = false;
  std::int64_t timeout_ms = 10000;
};

// What a command runs with. client is null for commands that need none.
struct Context {
  synod::Client* client = nullptr;
  Globals globals;
  std::ostream& out;
  std::ostream& err;
  std::istream* in = nullptr;             // the shell's input
  std::function<bool()> interrupted;      // watch stops when it says true
  // GET http://HOST:PORT/status -> the body, or nullopt (status command).
  std::function<std::optional<std::string>(const std::string&)> http_get;
};

struct Command {
  std::string_view name;
  std::string_view summary;
  bool needs_client = true;
  void (*setup)(CLI::App& sub, Args& args);
  int (*run)(Context& context, const Args& args);
};

// The table, in help order.
[[nodiscard]] const std::vector<Command>& commands();
[[nodiscard]] const Command* find_command(std::string_view name);

// A parse: exit < 0 means "run `command` with `args`"; otherwise exit with
// that code after printing `message` (help text: exit 0, usage: exit 2).
struct Parsed {
  int exit = -1;
  std::string message;
  std::string command;
  Args args;
  Globals globals;
};

// argv without the program name. env_servers: $SYNOD_SERVERS or nullopt.
[[nodiscard]] Parsed parse_argv(const std::vector<std::string>& argv,
                                std::optional<std::string> env_servers);
// One shell line's words (no global options there).
[[nodiscard]] Parsed parse_words(const std::vector<std::string>& words);
// Splits a shell line into words: blanks separate, '...' and "..." quote,
// a backslash escapes the next character. nullopt for an unclosed quote.
[[nodiscard]] std::optional<std::vector<std::string>> split_words(std::string_view line);

// Admin endpoints derived from client addresses (port + admin_port_offset).
[[nodiscard]] std::vector<std::string> derive_admin(const std::vector<std::string>& servers);

// ---- arguments -> requests (a usage error is an Error with BAD_ARGUMENTS) ----
[[nodiscard]] synod::Result<synod::CreateOptions> create_options(const Args& args,
                                                                 std::int64_t timeout_ms);
[[nodiscard]] synod::ReadOptions read_options(const Args& args, std::int64_t timeout_ms);
[[nodiscard]] synod::WriteOptions write_options(const Args& args, std::int64_t timeout_ms);
[[nodiscard]] synod::WatchKind watch_kind(const Args& args);

// ---- output ----
[[nodiscard]] std::string json_string(std::string_view text);
// "NO_NODE: /a/b", or {"error":"NO_NODE","path":"/a/b","message":...,"definite":true}.
[[nodiscard]] std::string format_error(const synod::Error& error, std::string_view path, bool json);
[[nodiscard]] int exit_code(const synod::Error& error);
// One "field = value" per line, or a JSON object.
[[nodiscard]] std::string format_stat(const synod::Stat& stat, bool json);
// ls: names (or, long, "version data_length num_children mtime_ms name"),
// one per line; json: an array of objects.
[[nodiscard]] std::string format_children(const std::vector<synod::Child>& children,
                                          bool long_list, bool json);
[[nodiscard]] std::string format_event(const synod::WatchEvent& event, bool json);

// One server's line of `status`: role, applied zxid, lag behind the most
// advanced; from the admin /status JSON (a missing body is "unreachable").
struct ServerStatus {
  std::string admin;
  bool reachable = false;
  std::string role;
  std::uint64_t id = 0;
  std::uint64_t applied = 0;
};
[[nodiscard]] ServerStatus parse_status(const std::string& admin,
                                        const std::optional<std::string>& body);
[[nodiscard]] std::string format_status(const std::vector<ServerStatus>& servers, bool json);

// Runs the shell over context.in until end of input or `exit`.
int run_shell(Context& context);

}  // namespace synod::cli
