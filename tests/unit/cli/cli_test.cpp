// The synod CLI's pure parts: argv -> command and arguments, arguments ->
// client options, output formats and exit codes. No server is involved.
#include <doctest/doctest.h>

#include <sstream>

#include "cli/commands.h"

using namespace synod::cli;

TEST_CASE("cli: create's flags map to the node kind, sequence, parents and TTL") {
  const Parsed p = parse_argv({"create", "-e", "-s", "-p", "/a/b", "hello"}, std::nullopt);
  REQUIRE(p.exit == -1);
  CHECK(p.command == "create");
  CHECK(p.args.path == "/a/b");
  CHECK(p.args.data == std::optional<std::string>("hello"));
  const auto options = create_options(p.args, 1234);
  REQUIRE(options.ok());
  CHECK(options.value().kind == synod::NodeKind::ephemeral);
  CHECK(options.value().sequential);
  CHECK(options.value().parents == synod::Parents::create_persistent);
  CHECK(options.value().timeout_ms == std::optional<std::int64_t>(1234));

  const Parsed ttl = parse_argv({"create", "--ttl", "5000", "/t"}, std::nullopt);
  REQUIRE(ttl.exit == -1);
  CHECK_FALSE(ttl.args.data.has_value());
  const auto ttl_options = create_options(ttl.args, 10);
  REQUIRE(ttl_options.ok());
  CHECK(ttl_options.value().kind == synod::NodeKind::ttl);
  CHECK(ttl_options.value().ttl_ms == 5000);

  const Parsed container = parse_argv({"create", "-c", "/c"}, std::nullopt);
  REQUIRE(container.exit == -1);
  CHECK(create_options(container.args, 10).value().kind == synod::NodeKind::container);
}

TEST_CASE("cli: conflicting create kinds and bad arguments are usage errors (exit 2)") {
  CHECK(parse_argv({"create", "-e", "-c", "/a"}, std::nullopt).exit == exit_usage);
  CHECK(parse_argv({"create", "-c", "-s", "/a"}, std::nullopt).exit == exit_usage);
  CHECK(parse_argv({"create", "--ttl", "0", "/a"}, std::nullopt).exit == exit_usage);
  CHECK(parse_argv({"get"}, std::nullopt).exit == exit_usage);
  CHECK(parse_argv({"set", "/a"}, std::nullopt).exit == exit_usage);
  CHECK(parse_argv({"frobnicate", "/a"}, std::nullopt).exit == exit_usage);
  CHECK(parse_argv({}, std::nullopt).exit == exit_usage);
  CHECK(parse_argv({"--timeout", "0", "sync"}, std::nullopt).exit == exit_usage);
  CHECK(parse_argv({"--servers", ",", "sync"}, std::nullopt).exit == exit_usage);
  const Parsed help = parse_argv({"--help"}, std::nullopt);
  CHECK(help.exit == exit_ok);
  CHECK(help.message.find("create") != std::string::npos);
}

TEST_CASE("cli: set, rm, get, ls and watch options reach the requests") {
  const Parsed set = parse_argv({"set", "--version", "3", "/a", "x"}, std::nullopt);
  REQUIRE(set.exit == -1);
  CHECK(write_options(set.args, 7).version == std::optional<std::int32_t>(3));
  CHECK_FALSE(write_options(parse_argv({"rm", "/a"}, std::nullopt).args, 7).version.has_value());
  const Parsed rm = parse_argv({"rm", "-r", "/a"}, std::nullopt);
  CHECK(rm.args.recursive);

  const Parsed get = parse_argv({"get", "--stat", "--sequential", "/a"}, std::nullopt);
  REQUIRE(get.exit == -1);
  CHECK(get.args.with_stat);
  CHECK(read_options(get.args, 5).consistency == synod::Consistency::sequential);
  CHECK(read_options(parse_argv({"get", "/a"}, std::nullopt).args, 5).consistency ==
        synod::Consistency::linearizable);

  const Parsed ls = parse_argv({"ls", "-l", "-R", "/"}, std::nullopt);
  CHECK(ls.args.long_list);
  CHECK(ls.args.recursive);

  const Parsed watch = parse_argv({"watch", "-r", "--from", "42", "/w"}, std::nullopt);
  REQUIRE(watch.exit == -1);
  CHECK(watch_kind(watch.args) == synod::WatchKind::persistent_recursive);
  CHECK(watch.args.from_zxid == std::optional<std::uint64_t>(42));
  CHECK(watch_kind(parse_argv({"watch", "/w"}, std::nullopt).args) == synod::WatchKind::persistent);
}

TEST_CASE("cli: servers come from --servers, else SYNOD_SERVERS, else the default") {
  const Parsed flag = parse_argv({"--servers", "h1:1,h2:2", "--timeout", "99", "sync"}, "e:1");
  REQUIRE(flag.exit == -1);
  CHECK(flag.globals.servers == std::vector<std::string>{"h1:1", "h2:2"});
  CHECK(flag.globals.timeout_ms == 99);
  CHECK(flag.globals.admin == std::vector<std::string>{"h1:1001", "h2:1002"});
  CHECK(parse_argv({"sync"}, "e:1").globals.servers == std::vector<std::string>{"e:1"});
  CHECK(parse_argv({"sync"}, std::nullopt).globals.servers.size() == 3);
  CHECK(parse_argv({"--admin", "a:9", "status"}, std::nullopt).globals.admin ==
        std::vector<std::string>{"a:9"});
  CHECK(parse_argv({"--json", "sync"}, std::nullopt).globals.json);
}

TEST_CASE("cli: the shell parses its lines with the same table") {
  const auto words = split_words("create -e /a 'hello world' \"q\\\"x\" a\\ b");
  REQUIRE(words.has_value());
  CHECK(*words == std::vector<std::string>{"create", "-e", "/a", "hello world", "q\"x", "a b"});
  CHECK_FALSE(split_words("get 'open").has_value());
  const Parsed p = parse_words({"create", "-e", "/a", "hello world"});
  REQUIRE(p.exit == -1);
  CHECK(p.command == "create");
  CHECK(p.args.data == std::optional<std::string>("hello world"));
  CHECK(parse_words({"nope"}).exit == exit_usage);
  for (const auto& command : commands()) CHECK(find_command(command.name) == &command);
}

TEST_CASE("cli: errors print their name and path; exit 1, or 3 when the ensemble is unreachable") {
  const synod::Error no_node{synod::ErrorCode::NO_NODE, "no node /a/b", true};
  CHECK(format_error(no_node, "/a/b", false) == "NO_NODE: /a/b");
  CHECK(format_error(no_node, "/a/b", true) ==
        R"({"error":"NO_NODE","path":"/a/b","message":"no node /a/b","definite":true})");
  CHECK(exit_code(no_node) == exit_failed);
  const synod::Error lost{synod::ErrorCode::CONNECTION_LOSS, "gone", false};
  CHECK(format_error(lost, "/x", false).rfind("CONNECTION_LOSS: /x (outcome unknown", 0) == 0);
  CHECK(exit_code(lost) == exit_unreachable);
  CHECK(exit_code(synod::Error{synod::ErrorCode::TIMEOUT, "", false}) == exit_failed);
}

TEST_CASE("cli: stat, children and events format as text and JSON") {
  synod::Stat stat;
  stat.czxid = 5;
  stat.version = 2;
  stat.data_length = 3;
  const std::string text = format_stat(stat, false);
  CHECK(text.find("czxid = 5\n") != std::string::npos);
  CHECK(text.find("version = 2\n") != std::string::npos);
  const std::string json = format_stat(stat, true);
  CHECK(json.front() == '{');
  CHECK(json.find("\"czxid\":5,") != std::string::npos);
  CHECK(json.find("\"data_length\":3") != std::string::npos);

  const std::vector<synod::Child> children{{"a", stat}, {"b\"", {}}};
  CHECK(format_children(children, false, false) == "a\nb\"\n");
  CHECK(format_children(children, true, false).rfind("2 3 0 0 a\n", 0) == 0);
  CHECK(format_children(children, false, true) == R"([{"name":"a"},{"name":"b\""}])" "\n");

  const synod::WatchEvent event{synod::EventType::data_changed, "/w/x", 9, "/w",
                                synod::WatchKind::persistent_recursive};
  CHECK(format_event(event, false) == "DATA_CHANGED /w/x 9\n");
  CHECK(format_event(event, true) == R"({"type":"DATA_CHANGED","path":"/w/x","zxid":9})" "\n");
  CHECK(json_string("a\x01\n") == R"("a\u0001\n")");
}

TEST_CASE("cli: status reads role and applied zxid from each /status and computes the lag") {
  const auto leader = parse_status("h:8001", std::string(R"({"id":1,"role":"leader","leader":1,"applied":40,"members":[{"id":1,"role":"voter"}]})"));
  const auto follower = parse_status("h:8002", std::string(R"({"id":2,"role":"follower","applied":37})"));
  const auto down = parse_status("h:8003", std::nullopt);
  CHECK(leader.reachable);
  CHECK(leader.role == "leader");
  CHECK(leader.applied == 40);
  CHECK_FALSE(down.reachable);
  CHECK(format_status({leader, follower, down}, false) ==
        "h:8001 id=1 role=leader applied=40 lag=0\n"
        "h:8002 id=2 role=follower applied=37 lag=3\n"
        "h:8003 unreachable\n");
  CHECK(format_status({follower}, true) ==
        R"([{"admin":"h:8002","reachable":true,"id":2,"role":"follower","applied":37,"lag":0}])" "\n");
  CHECK(derive_admin({"127.0.0.1:7001", "bad"}) == std::vector<std::string>{"127.0.0.1:8001"});
}

TEST_CASE("cli: status over the table exits 3 when no admin endpoint answers") {
  std::ostringstream out;
  std::ostringstream err;
  Context context{nullptr, {}, out, err, nullptr, {}, {}};
  context.globals.admin = {"h:1", "h:2"};
  context.http_get = [](const std::string& admin) -> std::optional<std::string> {
    if (admin == "h:1") return std::string(R"({"id":1,"role":"leader","applied":4})");
    return std::nullopt;
  };
  const Command* status = find_command("status");
  REQUIRE(status != nullptr);
  CHECK_FALSE(status->needs_client);
  CHECK(status->run(context, Args{}) == exit_ok);
  CHECK(out.str() == "h:1 id=1 role=leader applied=4 lag=0\nh:2 unreachable\n");
  context.http_get = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
  CHECK(status->run(context, Args{}) == exit_unreachable);
}

TEST_CASE("cli: the shell keeps history, re-runs !N and stops at exit") {
  std::istringstream in("status\nhistory\n!1\nbogus\nexit\nstatus\n");
  std::ostringstream out;
  std::ostringstream err;
  Context context{nullptr, {}, out, err, &in, {}, {}};
  context.globals.admin = {"h:1"};
  int calls = 0;
  context.http_get = [&calls](const std::string&) -> std::optional<std::string> {
    ++calls;
    return std::string(R"({"id":1,"role":"leader","applied":4})");
  };
  CHECK(run_shell(context) == exit_usage);  // the last command run was "bogus"
  CHECK(calls == 2);                        // status, !1; not the one after exit
  CHECK(out.str().find("1  status\n") != std::string::npos);
  CHECK_FALSE(err.str().empty());
}
