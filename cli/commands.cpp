// The command table, its parsers, mappings and formats (commands.h).
#include "cli/commands.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <iostream>
#include <memory>
#include <sstream>
#include <thread>

namespace synod::cli {
namespace {

// ---- setup: the arguments each command declares ----

void setup_path(CLI::App& sub, Args& args) {
  sub.add_option("PATH", args.path, "node path")->required();
}

void setup_create(CLI::App& sub, Args& args) {
  sub.add_flag("-e,--ephemeral", args.ephemeral, "removed with this session");
  sub.add_flag("-s,--sequential", args.sequential, "append a 10-digit sequence number");
  sub.add_flag("-c,--container", args.container, "removed when its last child goes");
  sub.add_flag("-p,--parents", args.parents, "create missing parents (persistent)");
  sub.add_option("--ttl", args.ttl_ms,
                 "a TTL node: removed once unmodified and childless this long (ms)");
  setup_path(sub, args);
  sub.add_option("DATA", args.data, "the node's data (default empty)");
}
void setup_get(CLI::App& sub, Args& args) {
  sub.add_flag("--stat", args.with_stat, "print the stat after the data");
  sub.add_flag("--sequential", args.sequential_read,
               "read the server's local state (may be stale)");
  setup_path(sub, args);
}
void setup_set(CLI::App& sub, Args& args) {
  sub.add_option("--version", args.version, "expected version (BAD_VERSION otherwise)");
  setup_path(sub, args);
  sub.add_option("DATA", args.data, "the new data")->required();
}
void setup_rm(CLI::App& sub, Args& args) {
  sub.add_flag("-r,--recursive", args.recursive, "remove the children first");
  sub.add_option("--version", args.version, "expected version (BAD_VERSION otherwise)");
  setup_path(sub, args);
}
void setup_ls(CLI::App& sub, Args& args) {
  sub.add_flag("-l", args.long_list, "version, data length, children, mtime");
  sub.add_flag("-R", args.recursive, "everything below, as full paths");
  setup_path(sub, args);
}
void setup_watch(CLI::App& sub, Args& args) {
  sub.add_flag("-r,--recursive", args.recursive, "every change below PATH too");
  sub.add_option("--from", args.from_zxid, "replay the changes after this zxid first");
  setup_path(sub, args);
}
void setup_none(CLI::App&, Args&) {}

// ---- run ----

std::string join_path(std::string_view parent, std::string_view name) {
  std::string out(parent);
  if (out != "/") out += '/';
  out += name;
  return out;
}

int fail(Context& c, const synod::Error& error, std::string_view path) {
  c.err << format_error(error, path, c.globals.json) << "\n";
  return exit_code(error);
}

int run_create(Context& c, const Args& a) {
  auto options = create_options(a, c.globals.timeout_ms);
  if (!options.ok()) {
    c.err << "usage: " << options.error().message << "\n";
    return exit_usage;
  }
  auto created = c.client->create(a.path, a.data.value_or(""), options.value());
  if (!created.ok()) return fail(c, created.error(), a.path);
  if (c.globals.json) {
    c.out << "{\"path\":" << json_string(created.value().path)
          << ",\"stat\":" << format_stat(created.value().stat, true) << "}\n";
  } else {
    c.out << created.value().path << "\n";
  }
  return exit_ok;
}

int run_get(Context& c, const Args& a) {
  auto data = c.client->get(a.path, read_options(a, c.globals.timeout_ms));
  if (!data.ok()) return fail(c, data.error(), a.path);
  const auto& d = data.value();
  if (c.globals.json) {
    c.out << "{\"data\":" << json_string(d.data) << ",\"kind\":"
          << json_string(synod::node_kind_name(d.kind)) << ",\"stat\":"
          << format_stat(d.stat, true) << "}\n";
    return exit_ok;
  }
  c.out << d.data << "\n";
  if (a.with_stat) c.out << format_stat(d.stat, false);
  return exit_ok;
}

int run_set(Context& c, const Args& a) {
  auto stat = c.client->set(a.path, a.data.value_or(""), write_options(a, c.globals.timeout_ms));
  if (!stat.ok()) return fail(c, stat.error(), a.path);
  if (c.globals.json) c.out << format_stat(stat.value(), true) << "\n";
  return exit_ok;
}

// Every node below `root` (not root itself), parents before children; at
// most walk_nodes_max.
synod::Result<std::vector<std::pair<std::string, synod::Child>>> walk(Context& c,
                                                                      const std::string& root) {
  std::vector<std::pair<std::string, synod::Child>> out;
  std::vector<std::string> stack{root};
  const synod::ReadOptions read{false, synod::Consistency::linearizable, c.globals.timeout_ms};
  while (!stack.empty()) {
    const std::string parent = std::move(stack.back());
    stack.pop_back();
    auto children = c.client->all_children(parent, walk_nodes_max, read);
    if (!children.ok()) {
      if (children.error().code == synod::ErrorCode::NO_NODE && parent != root) continue;  // raced
      return children.error();
    }
    for (auto it = children.value().rbegin(); it != children.value().rend(); ++it) {
      std::string full = join_path(parent, it->name);
      if (it->stat.num_children > 0) stack.push_back(full);
      out.emplace_back(std::move(full), std::move(*it));
      if (out.size() > walk_nodes_max) {
        return synod::Error{synod::ErrorCode::LIMIT_EXCEEDED, "more nodes than walk_nodes_max",
                            true};
      }
    }
  }
  return out;
}

int run_rm(Context& c, const Args& a) {
  const auto options = write_options(a, c.globals.timeout_ms);
  if (a.recursive) {
    auto below = walk(c, a.path);
    if (!below.ok()) return fail(c, below.error(), a.path);
    // Deepest first: reverse of the parents-first order is children-first
    // within each subtree.
    std::vector<std::string> paths;
    for (const auto& entry : below.value()) paths.push_back(entry.first);
    std::sort(paths.begin(), paths.end(), [](const std::string& x, const std::string& y) {
      return std::count(x.begin(), x.end(), '/') > std::count(y.begin(), y.end(), '/');
    });
    for (const auto& path : paths) {
      auto removed = c.client->remove(path, synod::WriteOptions{{}, {}, c.globals.timeout_ms});
      if (!removed.ok() && removed.error().code != synod::ErrorCode::NO_NODE) {
        return fail(c, removed.error(), path);
      }
    }
  }
  auto removed = c.client->remove(a.path, options);
  if (!removed.ok()) return fail(c, removed.error(), a.path);
  return exit_ok;
}

int run_ls(Context& c, const Args& a) {
  if (a.recursive) {
    auto below = walk(c, a.path);
    if (!below.ok()) return fail(c, below.error(), a.path);
    std::vector<synod::Child> named;
    for (auto& [path, child] : below.value()) named.push_back(synod::Child{path, child.stat});
    std::sort(named.begin(), named.end(),
              [](const synod::Child& x, const synod::Child& y) { return x.name < y.name; });
    c.out << format_children(named, a.long_list, c.globals.json);
    return exit_ok;
  }
  auto children = c.client->all_children(
      a.path, walk_nodes_max,
      synod::ReadOptions{false, synod::Consistency::linearizable, c.globals.timeout_ms});
  if (!children.ok()) return fail(c, children.error(), a.path);
  c.out << format_children(children.value(), a.long_list, c.globals.json);
  return exit_ok;
}

int run_stat(Context& c, const Args& a) {
  auto stat = c.client->exists(a.path, read_options(a, c.globals.timeout_ms));
  if (!stat.ok()) return fail(c, stat.error(), a.path);
  if (!stat.value()) {
    return fail(c, synod::Error{synod::ErrorCode::NO_NODE, "no such node", true}, a.path);
  }
  c.out << format_stat(*stat.value(), c.globals.json) << (c.globals.json ? "\n" : "");
  return exit_ok;
}

int run_watch(Context& c, const Args& a) {
  std::ostream& out = c.out;
  const bool json = c.globals.json;
  // Set on the client thread when the watch ends with a gap (a move to a
  // server without its history): the command fails, the user re-reads.
  auto compacted = std::make_shared<std::atomic<bool>>(false);
  auto set = c.client->set_watch(
      a.path, watch_kind(a),
      [&out, json, compacted](const synod::WatchEvent& e) {
        out << format_event(e, json) << std::flush;
        if (e.type == synod::EventType::compacted) *compacted = true;
      },
      a.from_zxid);
  if (!set.ok()) return fail(c, set.error(), a.path);
  while (!(c.interrupted && c.interrupted())) {
    if (compacted->load()) {
      return fail(c,
                  synod::Error{synod::ErrorCode::COMPACTED,
                               "the watch ended: the server the session moved to no longer holds "
                               "the changes it missed; read the node again and watch from its zxid",
                               true},
                  a.path);
    }
    const auto state = c.client->state();
    if (state == synod::SessionState::expired || state == synod::SessionState::closed) {
      return fail(c, synod::Error{synod::ErrorCode::SESSION_EXPIRED, "the session ended", true},
                  a.path);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  (void)c.client->remove_watch(a.path, watch_kind(a));
  return exit_ok;
}

int run_sync(Context& c, const Args&) {
  auto done = c.client->sync(c.globals.timeout_ms);
  if (!done.ok()) return fail(c, done.error(), "/");
  return exit_ok;
}

int run_status(Context& c, const Args&) {
  std::vector<ServerStatus> servers;
  for (const auto& admin : c.globals.admin) {
    servers.push_back(parse_status(admin, c.http_get ? c.http_get(admin) : std::nullopt));
  }
  c.out << format_status(servers, c.globals.json);
  const bool any = std::any_of(servers.begin(), servers.end(),
                               [](const ServerStatus& s) { return s.reachable; });
  return any ? exit_ok : exit_unreachable;
}

int run_shell_command(Context& c, const Args&) { return run_shell(c); }

// The CLI11 app for a table: one subcommand per command, bound to `args`.
void add_commands(CLI::App& app, Args& args) {
  app.require_subcommand(1, 1);
  for (const auto& command : commands()) {
    CLI::App* sub = app.add_subcommand(std::string(command.name), std::string(command.summary));
    command.setup(*sub, args);
  }
}

// Parses into `parsed`, whose members `app` is bound to; then checks the
// arguments no single option can (create's kinds).
void parse_with(CLI::App& app, Parsed& parsed, const std::vector<std::string>& words) {
  std::vector<std::string> reversed(words.rbegin(), words.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    std::ostringstream out;
    std::ostringstream err;
    const int code = app.exit(e, out, err);
    parsed.exit = code == 0 ? exit_ok : exit_usage;
    parsed.message = out.str() + err.str();
    if (!parsed.message.empty() && parsed.message.back() != '\n') parsed.message += '\n';
    return;
  }
  for (const auto& command : commands()) {
    if (app.got_subcommand(std::string(command.name))) parsed.command = command.name;
  }
  if (parsed.command == "create") {
    const auto options = create_options(parsed.args, parsed.globals.timeout_ms);
    if (!options.ok()) {
      parsed.exit = exit_usage;
      parsed.message = "create: " + options.error().message + "\n";
    }
  }
}

std::string stat_field(std::string_view name, std::uint64_t value, bool json) {
  if (json) return json_string(name) + ":" + std::to_string(value);
  return std::string(name) + " = " + std::to_string(value) + "\n";
}
std::string stat_field(std::string_view name, std::int64_t value, bool json) {
  if (json) return json_string(name) + ":" + std::to_string(value);
  return std::string(name) + " = " + std::to_string(value) + "\n";
}

// The number after "key": at the top of a flat JSON object (the first one).
std::optional<std::uint64_t> json_number(const std::string& body, std::string_view key) {
  const std::string needle = "\"" + std::string(key) + "\":";
  const auto at = body.find(needle);
  if (at == std::string::npos) return std::nullopt;
  std::uint64_t value = 0;
  std::size_t i = at + needle.size();
  if (i >= body.size() || body[i] < '0' || body[i] > '9') return std::nullopt;
  for (; i < body.size() && body[i] >= '0' && body[i] <= '9'; ++i) {
    value = value * 10 + static_cast<std::uint64_t>(body[i] - '0');
  }
  return value;
}
std::optional<std::string> json_text(const std::string& body, std::string_view key) {
  const std::string needle = "\"" + std::string(key) + "\":\"";
  const auto at = body.find(needle);
  if (at == std::string::npos) return std::nullopt;
  const auto end = body.find('"', at + needle.size());
  if (end == std::string::npos) return std::nullopt;
  return body.substr(at + needle.size(), end - at - needle.size());
}

}  // namespace

const std::vector<Command>& commands() {
  static const std::vector<Command> table = {
      {"create", "create PATH [DATA]; prints the created path", true, setup_create, run_create},
      {"get", "print the data of PATH", true, setup_get, run_get},
      {"set", "set the data of PATH", true, setup_set, run_set},
      {"rm", "remove PATH", true, setup_rm, run_rm},
      {"ls", "list the children of PATH", true, setup_ls, run_ls},
      {"stat", "print the stat of PATH", true, setup_path, run_stat},
      {"watch", "print every change of PATH until interrupted", true, setup_watch, run_watch},
      {"sync", "let later sequential reads see every committed write", true, setup_none, run_sync},
      {"status", "each server's role, applied zxid and lag (admin HTTP /status)", false,
       setup_none, run_status},
      {"shell", "an interactive shell running these commands", true, setup_none,
       run_shell_command},
  };
  return table;
}

const Command* find_command(std::string_view name) {
  for (const auto& command : commands()) {
    if (command.name == name) return &command;
  }
  return nullptr;
}

Parsed parse_argv(const std::vector<std::string>& argv, std::optional<std::string> env_servers) {
  Parsed parsed;
  CLI::App app{"synod: the Synod command-line client", "synod"};
  std::string servers;
  std::string admin;
  app.add_option("--servers", servers,
                 "HOST:PORT,... (else $SYNOD_SERVERS, else " + std::string(default_servers) + ")");
  app.add_option("--admin", admin,
                 "admin HOST:PORT,... for status (default: each server's port + 1000)");
  app.add_flag("--json", parsed.globals.json, "print JSON");
  app.add_option("--timeout", parsed.globals.timeout_ms, "per-request timeout (ms)")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{24} * 3600 * 1000));
  add_commands(app, parsed.args);
  parse_with(app, parsed, argv);
  if (parsed.exit >= 0) return parsed;
  if (servers.empty()) servers = env_servers.value_or("");
  if (servers.empty()) servers = default_servers;
  parsed.globals.servers = synod::split_servers(servers);
  if (parsed.globals.servers.empty()) {
    parsed.exit = exit_usage;
    parsed.message = "--servers names no server\n";
    return parsed;
  }
  parsed.globals.admin =
      admin.empty() ? derive_admin(parsed.globals.servers) : synod::split_servers(admin);
  return parsed;
}

Parsed parse_words(const std::vector<std::string>& words) {
  Parsed parsed;
  CLI::App app{"commands", ""};
  add_commands(app, parsed.args);
  parse_with(app, parsed, words);
  return parsed;
}

std::optional<std::vector<std::string>> split_words(std::string_view line) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  char quote = 0;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char ch = line[i];
    if (quote != 0) {
      if (ch == quote) {
        quote = 0;
      } else if (ch == '\\' && quote == '"' && i + 1 < line.size()) {
        word += line[++i];
      } else {
        word += ch;
      }
    } else if (ch == '\'' || ch == '"') {
      quote = ch;
      in_word = true;
    } else if (ch == '\\' && i + 1 < line.size()) {
      word += line[++i];
      in_word = true;
    } else if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r') {
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
    } else {
      word += ch;
      in_word = true;
    }
  }
  if (quote != 0) return std::nullopt;
  if (in_word) words.push_back(std::move(word));
  return words;
}

std::vector<std::string> derive_admin(const std::vector<std::string>& servers) {
  std::vector<std::string> out;
  for (const auto& server : servers) {
    const auto colon = server.rfind(':');
    if (colon == std::string::npos) continue;
    int port = 0;
    try {
      port = std::stoi(server.substr(colon + 1));
    } catch (const std::exception&) {
      continue;
    }
    out.push_back(server.substr(0, colon + 1) + std::to_string(port + admin_port_offset));
  }
  return out;
}

synod::Result<synod::CreateOptions> create_options(const Args& a, std::int64_t timeout_ms) {
  synod::CreateOptions o;
  o.timeout_ms = timeout_ms;
  const int kinds = int{a.ephemeral} + int{a.container} + int{a.ttl_ms.has_value()};
  if (kinds > 1) {
    return synod::Error{synod::ErrorCode::BAD_ARGUMENTS,
                        "choose at most one of -e, -c and --ttl", true};
  }
  if (a.container && a.sequential) {
    return synod::Error{synod::ErrorCode::BAD_ARGUMENTS, "a container cannot be sequential", true};
  }
  if (a.ephemeral) o.kind = synod::NodeKind::ephemeral;
  if (a.container) o.kind = synod::NodeKind::container;
  if (a.ttl_ms) {
    if (*a.ttl_ms <= 0) {
      return synod::Error{synod::ErrorCode::BAD_ARGUMENTS, "--ttl must be positive", true};
    }
    o.kind = synod::NodeKind::ttl;
    o.ttl_ms = *a.ttl_ms;
  }
  o.sequential = a.sequential;
  o.parents = a.parents ? synod::Parents::create_persistent : synod::Parents::fail;
  return o;
}

synod::ReadOptions read_options(const Args& a, std::int64_t timeout_ms) {
  return synod::ReadOptions{false,
                            a.sequential_read ? synod::Consistency::sequential
                                              : synod::Consistency::linearizable,
                            timeout_ms};
}

synod::WriteOptions write_options(const Args& a, std::int64_t timeout_ms) {
  return synod::WriteOptions{a.version, std::nullopt, timeout_ms};
}

synod::WatchKind watch_kind(const Args& a) {
  return a.recursive ? synod::WatchKind::persistent_recursive : synod::WatchKind::persistent;
}

std::string json_string(std::string_view text) {
  std::string out = "\"";
  for (const char ch : text) {
    const auto u = static_cast<unsigned char>(ch);
    switch (ch) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (u < 0x20) {
          static constexpr char hex[] = "0123456789abcdef";
          out += "\\u00";
          out += hex[u >> 4];
          out += hex[u & 0xfu];
        } else {
          out += ch;
        }
    }
  }
  return out + "\"";
}

std::string format_error(const synod::Error& error, std::string_view path, bool json) {
  if (json) {
    return "{\"error\":" + json_string(error.name()) + ",\"path\":" + json_string(path) +
           ",\"message\":" + json_string(error.message) +
           ",\"definite\":" + (error.definite ? "true" : "false") + "}";
  }
  std::string out = std::string(error.name()) + ": " + std::string(path);
  if (!error.definite) out += " (outcome unknown: the write may have been applied)";
  return out;
}

int exit_code(const synod::Error& error) {
  return error.code == synod::ErrorCode::CONNECTION_LOSS ? exit_unreachable : exit_failed;
}

std::string format_stat(const synod::Stat& s, bool json) {
  const std::vector<std::string> fields = {
      stat_field("czxid", s.czxid, json),
      stat_field("mzxid", s.mzxid, json),
      stat_field("pzxid", s.pzxid, json),
      stat_field("ctime_ms", s.ctime_ms, json),
      stat_field("mtime_ms", s.mtime_ms, json),
      stat_field("version", std::int64_t{s.version}, json),
      stat_field("cversion", std::int64_t{s.cversion}, json),
      stat_field("ephemeral_owner", s.ephemeral_owner, json),
      stat_field("data_length", std::int64_t{s.data_length}, json),
      stat_field("num_children", std::int64_t{s.num_children}, json),
  };
  std::string out = json ? "{" : "";
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (json && i > 0) out += ",";
    out += fields[i];
  }
  return json ? out + "}" : out;
}

std::string format_children(const std::vector<synod::Child>& children, bool long_list, bool json) {
  std::string out;
  if (json) {
    out = "[";
    for (std::size_t i = 0; i < children.size(); ++i) {
      if (i > 0) out += ",";
      out += "{\"name\":" + json_string(children[i].name);
      if (long_list) out += ",\"stat\":" + format_stat(children[i].stat, true);
      out += "}";
    }
    return out + "]\n";
  }
  for (const auto& child : children) {
    if (long_list) {
      out += std::to_string(child.stat.version) + " " + std::to_string(child.stat.data_length) +
             " " + std::to_string(child.stat.num_children) + " " +
             std::to_string(child.stat.mtime_ms) + " ";
    }
    out += child.name + "\n";
  }
  return out;
}

std::string format_event(const synod::WatchEvent& e, bool json) {
  if (json) {
    return "{\"type\":" + json_string(synod::event_type_name(e.type)) +
           ",\"path\":" + json_string(e.path) + ",\"zxid\":" + std::to_string(e.zxid) + "}\n";
  }
  return std::string(synod::event_type_name(e.type)) + " " + e.path + " " +
         std::to_string(e.zxid) + "\n";
}

ServerStatus parse_status(const std::string& admin, const std::optional<std::string>& body) {
  ServerStatus s;
  s.admin = admin;
  if (!body) return s;
  const auto role = json_text(*body, "role");
  const auto applied = json_number(*body, "applied");
  if (!role || !applied) return s;
  s.reachable = true;
  s.role = *role;
  s.applied = *applied;
  s.id = json_number(*body, "id").value_or(0);
  return s;
}

std::string format_status(const std::vector<ServerStatus>& servers, bool json) {
  std::uint64_t top = 0;
  for (const auto& s : servers) top = std::max(top, s.reachable ? s.applied : 0);
  std::string out = json ? "[" : "";
  bool first = true;
  for (const auto& s : servers) {
    if (json) {
      out += first ? "" : ",";
      out += "{\"admin\":" + json_string(s.admin) + ",\"reachable\":" +
             (s.reachable ? "true" : "false");
      if (s.reachable) {
        out += ",\"id\":" + std::to_string(s.id) + ",\"role\":" + json_string(s.role) +
               ",\"applied\":" + std::to_string(s.applied) +
               ",\"lag\":" + std::to_string(top - s.applied);
      }
      out += "}";
    } else if (s.reachable) {
      out += s.admin + " id=" + std::to_string(s.id) + " role=" + s.role +
             " applied=" + std::to_string(s.applied) + " lag=" + std::to_string(top - s.applied) +
             "\n";
    } else {
      out += s.admin + " unreachable\n";
    }
    first = false;
  }
  return json ? out + "]\n" : out;
}

int run_shell(Context& c) {
  if (c.in == nullptr) return exit_usage;
  std::vector<std::string> history;
  std::string line;
  int last = exit_ok;
  for (;;) {
    c.out << "synod> " << std::flush;
    if (!std::getline(*c.in, line)) break;
    if (line.size() > line_bytes_max) {
      c.err << "the line is longer than " << line_bytes_max << " bytes\n";
      continue;
    }
    if (line == "!!" && !history.empty()) line = history.back();
    if (line.size() > 1 && line[0] == '!') {
      try {
        const std::size_t n = std::stoul(line.substr(1));
        if (n == 0 || n > history.size()) throw std::out_of_range("history");
        line = history[n - 1];
        c.out << line << "\n";
      } catch (const std::exception&) {
        c.err << "no such history entry: " << line << "\n";
        continue;
      }
    }
    auto words = split_words(line);
    if (!words) {
      c.err << "an unclosed quote\n";
      continue;
    }
    if (words->empty()) continue;
    if (history.size() == history_max) history.erase(history.begin());
    history.push_back(line);
    const std::string& first = words->front();
    if (first == "exit" || first == "quit") break;
    if (first == "history") {
      for (std::size_t i = 0; i < history.size(); ++i) {
        c.out << (i + 1) << "  " << history[i] << "\n";
      }
      continue;
    }
    if (first == "shell") {
      c.err << "already in the shell\n";
      continue;
    }
    const Parsed parsed = parse_words(*words);
    if (parsed.exit >= 0) {
      c.err << parsed.message;
      last = parsed.exit;
      continue;
    }
    const Command* command = find_command(parsed.command);
    if (command->needs_client && c.client == nullptr) {
      c.err << "not connected\n";
      last = exit_unreachable;
      continue;
    }
    last = command->run(c, parsed.args);
  }
  return last;
}

}  // namespace synod::cli
