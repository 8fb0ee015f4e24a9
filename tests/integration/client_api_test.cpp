// synod-client-api-test: the client library's two APIs (blocking and
// awaitable, synod/client.h and synod/asio.h) against a real ensemble.
//
// Usage: synod-client-api-test --servers H:P,H:P,H:P --pids P0,P1,P2
//   pids: the synodd processes serving those addresses, in the same order;
//   the timeout check SIGSTOPs the first one for a few seconds (and
//   SIGCONTs it, also on failure); the last check SIGKILLs the one its
//   watcher is attached to.
// Exit 0 when every check passed; 1 with "FAIL [check]: what" otherwise
// (a watchdog fails a check that hangs); 2 for bad arguments. Every check
// compares values the server returned. Run by client_api_test.py, which
// starts the ensemble.
#include <signal.h>
#include <sys/types.h>

#include <algorithm>
#include <asio.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/experimental/deferred.hpp>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <future>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include "synod/asio.h"
#include "synod/client.h"

namespace {

using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;
using asio::use_awaitable;
using Clock = std::chrono::steady_clock;

// ---- failing, naming the check ----

std::mutex g_check_mutex;
std::string g_check = "startup";
Clock::time_point g_check_deadline = Clock::now() + 30s;
std::atomic<pid_t> g_stopped{0};  // a SIGSTOPped server to continue on the way out

[[noreturn]] void fail(const std::string& what) {
  if (const pid_t pid = g_stopped.exchange(0); pid != 0) kill(pid, SIGCONT);
  std::string check;
  {
    std::lock_guard lock(g_check_mutex);
    check = g_check;
  }
  std::fprintf(stderr, "FAIL [%s]: %s\n", check.c_str(), what.c_str());
  std::fflush(stderr);
  std::_Exit(1);
}

void begin(const std::string& check, std::chrono::seconds budget) {
  std::lock_guard lock(g_check_mutex);
  g_check = check;
  g_check_deadline = Clock::now() + budget;
  std::printf("check: %s\n", check.c_str());
  std::fflush(stdout);
}

// Fails the running check once its budget is spent (a hang anywhere).
void watchdog() {
  for (;;) {
    std::this_thread::sleep_for(100ms);  // polling interval of the watchdog
    Clock::time_point deadline;
    {
      std::lock_guard lock(g_check_mutex);
      deadline = g_check_deadline;
    }
    if (Clock::now() > deadline) fail("did not finish within its time budget");
  }
}

void expect(bool condition, const std::string& what) {
  if (!condition) fail(what);
}

template <class T>
T must(synod::Result<T> result, const std::string& what) {
  if (!result.ok()) {
    fail(what + ": " + std::string(result.error().name()) + ": " + result.error().message);
  }
  return std::move(result).value();
}

template <class T>
synod::Error must_fail(synod::Result<T> result, synod::ErrorCode code, bool definite,
                       const std::string& what) {
  if (result.ok()) fail(what + ": succeeded, want " + std::string(synod::error_name(code)));
  const synod::Error& e = result.error();
  if (e.code != code) {
    fail(what + ": " + std::string(e.name()) + " (" + e.message + "), want " +
         std::string(synod::error_name(code)));
  }
  if (e.definite != definite) {
    fail(what + ": definite is " + (e.definite ? "true" : "false") + ", want " +
         (definite ? "true" : "false") + " (" + e.message + ")");
  }
  return e;
}

std::int64_t ms_since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
}

// Polls `predicate` (a poll interval, not synchronisation) until it holds.
template <class Predicate>
void poll_until(const std::string& what, std::chrono::milliseconds limit, Predicate predicate) {
  const auto deadline = Clock::now() + limit;
  while (!predicate()) {
    if (Clock::now() > deadline) fail("timed out waiting for " + what);
    std::this_thread::sleep_for(20ms);
  }
}

std::thread::id g_main_thread;
void expect_on_main(const std::string& what) {
  expect(std::this_thread::get_id() == g_main_thread,
         what + ": the completion did not run on the caller's executor (the main thread)");
}

// ---- the default watcher's events, for one-shot watches ----

struct Events {
  std::mutex mutex;
  std::condition_variable cv;
  std::vector<synod::WatchEvent> seen;

  void add(const synod::WatchEvent& e) {
    {
      std::lock_guard lock(mutex);
      seen.push_back(e);
    }
    cv.notify_all();
  }
  // The first event for `path` of `type`, waiting up to `limit`.
  synod::WatchEvent wait(const std::string& path, synod::EventType type,
                         std::chrono::milliseconds limit) {
    std::unique_lock lock(mutex);
    const synod::WatchEvent* found = nullptr;
    const bool ok = cv.wait_for(lock, limit, [&] {
      for (const auto& e : seen) {
        if (e.path == path && e.type == type) {
          found = &e;
          return true;
        }
      }
      return false;
    });
    if (!ok) {
      std::string got;
      for (const auto& e : seen) {
        got += " " + std::string(synod::event_type_name(e.type)) + " " + e.path + "@" +
               std::to_string(e.zxid);
      }
      fail("no " + std::string(synod::event_type_name(type)) + " event for " + path +
           " reached the watcher (it got:" + (got.empty() ? " nothing" : got) + ")");
    }
    return *found;
  }
  std::size_t count(const std::string& path) {
    std::lock_guard lock(mutex);
    std::size_t n = 0;
    for (const auto& e : seen) n += e.path == path ? 1u : 0u;
    return n;
  }
};

struct Setup {
  std::vector<std::string> servers;
  std::vector<pid_t> pids;
};

synod::ClientOptions options_for(std::vector<std::string> servers) {
  synod::ClientOptions o;
  o.servers = std::move(servers);
  o.session_timeout_ms = 10000;
  o.request_timeout_ms = 10000;
  return o;
}

// The next event of `stream`, or nullopt when none came within `limit`.
asio::awaitable<std::optional<synod::Result<synod::WatchEvent>>> next_within(
    synod::WatchStream& stream, std::chrono::milliseconds limit) {
  asio::steady_timer timer(co_await asio::this_coro::executor, limit);
  auto which = co_await (stream.async_next(use_awaitable) || timer.async_wait(use_awaitable));
  if (which.index() == 0) co_return std::get<0>(std::move(which));
  co_return std::nullopt;
}

// Every one-shot or stream event of one session arrives in zxid order: once
// the default watcher saw a change made after `earlier` writes, their
// events have reached the client too.
void barrier(synod::Client& watcher, synod::Client& writer, Events& events, const std::string& path) {
  auto before = must(watcher.exists(path, {.watch = true}), "barrier: exists with a watch");
  expect(!before.has_value(), "barrier: " + path + " exists already");
  (void)must(writer.create(path, ""), "barrier: create " + path);
  (void)events.wait(path, synod::EventType::created, 10s);
}

// ---- the checks ----

asio::awaitable<void> check_creates(synod::Client& a) {
  begin("create: every node kind, blocking and awaitable", 20s);
  auto root = must(a.create("/capi", "root"), "blocking create /capi");
  expect(root.path == "/capi", "create /capi answered path " + root.path);
  expect(root.stat.version == 0 && root.stat.data_length == 4 && root.stat.czxid > 0 &&
             root.stat.czxid == root.stat.mzxid,
         "create /capi: unexpected stat");

  auto p = must(co_await synod::async_create(a, "/capi/p", "pdata", {}, use_awaitable),
                "awaitable create /capi/p");
  expect_on_main("async_create");
  expect(p.path == "/capi/p", "async_create answered path " + p.path);
  expect(p.stat.czxid > root.stat.czxid, "a later create has a higher czxid");
  auto pd = must(a.get("/capi/p"), "get /capi/p");
  expect(pd.data == "pdata" && pd.kind == synod::NodeKind::persistent && pd.stat == p.stat,
         "get /capi/p does not match what the create returned");

  auto e = must(co_await synod::async_create(a, "/capi/e", "",
                                             {.kind = synod::NodeKind::ephemeral}, use_awaitable),
                "awaitable create ephemeral /capi/e");
  auto ed = must(a.get("/capi/e"), "get /capi/e");
  expect(ed.kind == synod::NodeKind::ephemeral, "/capi/e is not ephemeral");
  expect(ed.stat.ephemeral_owner == a.session_id() && e.stat.ephemeral_owner == a.session_id(),
         "/capi/e's owner is not this session");

  auto s1 = must(a.create("/capi/seq-", "", {.sequential = true}), "blocking sequential create");
  auto s2 = must(co_await synod::async_create(a, "/capi/seq-", "", {.sequential = true},
                                              use_awaitable),
                 "awaitable sequential create");
  const auto suffix = [](const std::string& path) {
    const std::string tail = path.substr(std::string("/capi/seq-").size());
    expect(tail.size() == 10 && tail.find_first_not_of("0123456789") == std::string::npos,
           "sequential path " + path + " does not end in 10 digits");
    return std::stoll(tail);
  };
  expect(suffix(s2.path) > suffix(s1.path), "the second sequential suffix is not larger: " +
                                                s1.path + " then " + s2.path);

  (void)must(co_await synod::async_create(a, "/capi/box", "",
                                          {.kind = synod::NodeKind::container}, use_awaitable),
             "awaitable create container");
  (void)must(a.create("/capi/box/x", ""), "a child keeps the container");
  expect(must(a.get("/capi/box"), "get /capi/box").kind == synod::NodeKind::container,
         "/capi/box is not a container");

  (void)must(a.create("/capi/ttl", "", {.kind = synod::NodeKind::ttl, .ttl_ms = 60000}),
             "create ttl node");
  auto td = must(co_await synod::async_get(a, "/capi/ttl", {}, use_awaitable), "get /capi/ttl");
  expect(td.kind == synod::NodeKind::ttl && td.ttl_ms == 60000,
         "/capi/ttl is not a ttl node of 60000 ms");

  (void)must(a.create("/capi/deep/a/b", "", {.parents = synod::Parents::create_persistent}),
             "create with missing parents");
  auto deep = must(a.get("/capi/deep/a"), "a missing parent was created");
  expect(deep.kind == synod::NodeKind::persistent, "the created parent is not persistent");

  must_fail(a.create("/capi/p", ""), synod::ErrorCode::NODE_EXISTS, true, "create twice");
  must_fail(a.create("/capi/nope/x", ""), synod::ErrorCode::NO_NODE, true,
            "create under a missing parent");
  must_fail(a.create("no-slash", ""), synod::ErrorCode::BAD_ARGUMENTS, true, "a relative path");
  must_fail(co_await synod::async_create(a, "/capi/bad", "", {.ttl_ms = 5}, use_awaitable),
            synod::ErrorCode::BAD_ARGUMENTS, true, "ttl_ms on a persistent node");
}

asio::awaitable<void> check_reads(synod::Client& a) {
  begin("get/exists with stat", 10s);
  auto got = must(a.get("/capi/p"), "get /capi/p");
  auto st = must(a.exists("/capi/p"), "exists /capi/p");
  expect(st.has_value() && *st == got.stat, "exists' stat differs from get's");
  auto ast = must(co_await synod::async_exists(a, "/capi/p", {}, use_awaitable), "async_exists");
  expect(ast.has_value() && *ast == got.stat, "async_exists' stat differs from get's");
  auto none = must(co_await synod::async_exists(a, "/capi/none", {}, use_awaitable),
                   "async_exists of a missing node");
  expect(!none.has_value(), "exists of a missing node returned a stat");
  must_fail(co_await synod::async_get(a, "/capi/none", {}, use_awaitable),
            synod::ErrorCode::NO_NODE, true, "async_get of a missing node");
}

asio::awaitable<void> check_children(synod::Client& a) {
  begin("children: pages of 10 over 25, and all_children over two pages", 60s);
  (void)must(a.create("/capi/kids", ""), "create /capi/kids");
  for (int i = 0; i < 25; ++i) {
    const std::string name = (i < 10 ? "k0" : "k") + std::to_string(i);
    (void)must(co_await synod::async_create(a, "/capi/kids/" + name, name, {}, use_awaitable),
               "create a child");
  }
  synod::ChildrenOptions page_options;
  page_options.limit = 10;
  std::vector<std::string> names;
  std::vector<std::size_t> sizes;
  for (int page = 0; page < 5; ++page) {
    auto got = must(co_await synod::async_children(a, "/capi/kids", page_options, use_awaitable),
                    "async_children page");
    sizes.push_back(got.children.size());
    for (const auto& child : got.children) {
      expect(child.stat.data_length == static_cast<std::int32_t>(child.name.size()),
             "child " + child.name + " has the wrong data_length in its stat");
      names.push_back(child.name);
    }
    if (!got.next_after) break;
    expect(*got.next_after == names.back(), "next_after is not the page's last name");
    page_options.after = *got.next_after;
  }
  expect(sizes == std::vector<std::size_t>{10, 10, 5}, "pages were not 10, 10, 5 children");
  for (int i = 0; i < 25; ++i) {
    expect(names[static_cast<std::size_t>(i)] == (i < 10 ? "k0" : "k") + std::to_string(i),
           "children are not in name order");
  }
  auto first = must(a.children("/capi/kids", {.limit = 10}), "blocking children page");
  expect(first.children.size() == 10 && first.children.front().name == "k00" &&
             first.next_after == "k09",
         "the blocking first page differs");
  must_fail(a.children("/capi/kids", {.limit = 0}), synod::ErrorCode::BAD_ARGUMENTS, true,
            "limit 0");

  // More than children_limit_max children: all_children needs two pages.
  (void)must(a.create("/capi/many", ""), "create /capi/many");
  const std::size_t many = synod::children_limit_max + 1;
  std::vector<synod::MultiOp> batch;
  for (std::size_t i = 0; i < many; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "/capi/many/c%05zu", i);
    batch.push_back({synod::CreateOp{name, ""}, std::nullopt});
    if (batch.size() == 1000 || i + 1 == many) {
      auto results = must(a.multi(batch), "a multi of creates");
      expect(results.size() == batch.size(), "the multi answered a result per op");
      batch.clear();
    }
  }
  auto all = must(a.all_children("/capi/many"), "blocking all_children");
  auto all_async = must(co_await synod::async_all_children(a, "/capi/many", 1'000'000, {},
                                                           use_awaitable),
                        "awaitable all_children");
  expect(all.size() == many && all_async.size() == many,
         "all_children returned " + std::to_string(all.size()) + " and " +
             std::to_string(all_async.size()) + " children, want " + std::to_string(many));
  for (std::size_t i = 0; i < many; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "c%05zu", i);
    expect(all[i].name == name && all_async[i].name == name,
           "all_children lost or reordered a child at " + std::to_string(i));
  }
  must_fail(a.all_children("/capi/many", synod::children_limit_max), synod::ErrorCode::LIMIT_EXCEEDED,
            true, "all_children above max");
}

asio::awaitable<void> check_consistency(synod::Client& a, synod::Client& b) {
  begin("linearizable and sequential reads on another server", 15s);
  expect(a.server() != b.server(), "the two clients share a server");
  auto stat = must(a.set("/capi/p", "v2"), "set /capi/p");
  auto lin = must(co_await synod::async_get(b, "/capi/p", {}, use_awaitable),
                  "linearizable get on the other server");
  expect(lin.data == "v2" && lin.stat.mzxid == stat.mzxid,
         "a linearizable read on another server missed a committed write");
  (void)must(co_await synod::async_sync(b, std::nullopt, use_awaitable), "sync");
  auto seq = must(b.get("/capi/p", {.consistency = synod::Consistency::sequential}),
                  "sequential get after sync");
  expect(seq.data == "v2" && seq.stat.version == stat.version,
         "a sequential read after sync missed a committed write");
  auto own = must(a.get("/capi/p", {.consistency = synod::Consistency::sequential}),
                  "sequential get of the session's own write");
  expect(own.data == "v2", "a sequential read missed the session's own write");
  must_fail(a.sync(0), synod::ErrorCode::BAD_ARGUMENTS, true, "sync with timeout_ms 0");
}

asio::awaitable<void> check_set_remove(synod::Client& a) {
  begin("set with a version, remove", 10s);
  auto now = must(a.get("/capi/p"), "get /capi/p");
  auto set = must(a.set("/capi/p", "v3", {.version = now.stat.version}), "set at its version");
  expect(set.version == now.stat.version + 1, "the version did not go up by one");
  must_fail(a.set("/capi/p", "v4", {.version = now.stat.version}), synod::ErrorCode::BAD_VERSION,
            true, "set at a stale version");
  must_fail(co_await synod::async_set(a, "/capi/p", "v4", {.version = 99}, use_awaitable),
            synod::ErrorCode::BAD_VERSION, true, "async_set at a wrong version");
  auto unconditional = must(co_await synod::async_set(a, "/capi/p", "v4", {}, use_awaitable),
                            "async_set without a version");
  expect(unconditional.version == set.version + 1, "async_set did not bump the version");
  expect(must(a.get("/capi/p"), "get").data == "v4", "the set data was not stored");

  must_fail(a.remove("/capi/p", {.version = 0}), synod::ErrorCode::BAD_VERSION, true,
            "remove at a wrong version");
  must_fail(a.remove("/capi/kids"), synod::ErrorCode::NOT_EMPTY, true, "remove a parent");
  (void)must(co_await synod::async_remove(a, "/capi/p", {.version = unconditional.version},
                                          use_awaitable),
             "async_remove at its version");
  must_fail(a.get("/capi/p"), synod::ErrorCode::NO_NODE, true, "get a removed node");
  must_fail(a.remove("/capi/p"), synod::ErrorCode::NO_NODE, true, "remove twice");
}

asio::awaitable<void> check_multi(synod::Client& a) {
  begin("multi: all or nothing", 10s);
  auto ok = must(a.multi({{synod::CreateOp{"/capi/m1", "a"}, std::nullopt},
                          {synod::SetOp{"/capi/m1", "b", 0}, std::nullopt},
                          {synod::CheckOp{"/capi/m1", 1}, std::nullopt},
                          {synod::CreateOp{"/capi/m2", ""}, std::nullopt}}),
                 "a multi that holds");
  expect(ok.size() == 4, "the multi answered " + std::to_string(ok.size()) + " results");
  for (const auto& r : ok) expect(r.error == synod::ErrorCode::OK, "a successful op is not OK");
  expect(ok[0].path == "/capi/m1" && ok[3].path == "/capi/m2", "created paths are missing");
  expect(ok[1].stat && ok[1].stat->version == 1, "the set's stat is not version 1");
  expect(must(a.get("/capi/m1"), "get /capi/m1").data == "b", "the multi's set was lost");

  std::vector<synod::MultiOp> failing{{synod::CreateOp{"/capi/m3", ""}, std::nullopt},
                                       {synod::SetOp{"/capi/m1", "c", 99}, std::nullopt},
                                       {synod::CreateOp{"/capi/m4", ""}, std::nullopt}};
  auto refused = must_fail(co_await synod::async_multi(a, std::move(failing), std::nullopt,
                                                       std::nullopt, use_awaitable),
                           synod::ErrorCode::BAD_VERSION, true, "a multi whose second op fails");
  expect(refused.message.find("multi op 1") != std::string::npos,
         "the error does not name the failing op: " + refused.message);
  const std::vector<synod::ErrorCode> want{synod::ErrorCode::ROLLED_BACK,
                                           synod::ErrorCode::BAD_VERSION,
                                           synod::ErrorCode::NOT_EXECUTED};
  std::vector<synod::ErrorCode> got;
  for (const auto& r : refused.multi_results) got.push_back(r.error);
  expect(got == want, "the per-op results are not ROLLED_BACK, BAD_VERSION, NOT_EXECUTED");
  expect(!must(a.exists("/capi/m3"), "exists /capi/m3").has_value(),
         "the refused multi's create was not rolled back");
  expect(must(a.get("/capi/m1"), "get /capi/m1").data == "b", "the refused multi changed data");
}

asio::awaitable<void> check_fences(synod::Client& a) {
  begin("check_fence and fenced writes", 10s);
  auto lock = must(a.create("/capi/lock", "", {.kind = synod::NodeKind::ephemeral}), "lock node");
  const synod::Fence good{"/capi/lock", lock.stat.czxid};
  const synod::Fence stale{"/capi/lock", lock.stat.czxid + 1000};
  expect(must(a.check_fence(good), "check_fence") == lock.stat.czxid,
         "check_fence returned another token");
  expect(must(co_await synod::async_check_fence(a, good, std::nullopt, use_awaitable),
              "async_check_fence") == lock.stat.czxid,
         "async_check_fence returned another token");
  must_fail(a.check_fence(stale), synod::ErrorCode::FENCED, true, "a stale token");
  const synod::Fence missing{"/capi/gone", 1};  // named: see "GCC 12" in synod/asio.h
  must_fail(co_await synod::async_check_fence(a, missing, std::nullopt, use_awaitable),
            synod::ErrorCode::FENCED, true, "a fence on a missing node");
  (void)must(a.set("/capi/m1", "fenced", {.fence = good}), "a write under a good fence");
  must_fail(a.set("/capi/m1", "no", {.fence = stale}), synod::ErrorCode::FENCED, true,
            "a write under a stale fence");
  auto refused = must_fail(a.multi({{synod::SetOp{"/capi/m1", "no"}, std::nullopt}}, stale),
                           synod::ErrorCode::FENCED, true, "a multi under a stale fence");
  expect(refused.multi_results.size() == 1 &&
             refused.multi_results[0].error == synod::ErrorCode::NOT_EXECUTED,
         "a multi refused by its fence did not report NOT_EXECUTED");
  expect(must(a.get("/capi/m1"), "get").data == "fenced", "a fenced-off write changed data");
}

void check_one_shot(synod::Client& a, synod::Client& b, Events& events,
                    std::atomic<int>& blocked_code, std::atomic<bool>& watcher_on_client) {
  begin("a one-shot watch fires once, to the default watcher", 20s);
  (void)must(a.create("/capi/w", "0"), "create /capi/w");
  (void)must(a.get("/capi/w", {.watch = true}), "get with a watch");
  auto first = must(b.set("/capi/w", "1"), "set from the other client");
  auto fired = events.wait("/capi/w", synod::EventType::data_changed, 10s);
  expect(fired.zxid == first.mzxid, "the event's zxid " + std::to_string(fired.zxid) +
                                        " is not the set's " + std::to_string(first.mzxid));
  (void)must(b.set("/capi/w", "2"), "second set");
  barrier(a, b, events, "/capi/w-barrier");
  expect(events.count("/capi/w") == 1, "the one-shot watch fired " +
                                           std::to_string(events.count("/capi/w")) + " times");
  expect(watcher_on_client.load(), "the default watcher did not run on the client thread");
  expect(blocked_code.load() == static_cast<int>(synod::ErrorCode::BAD_ARGUMENTS),
         "a blocking call from the watcher did not fail with BAD_ARGUMENTS");
}

asio::awaitable<void> check_stream(synod::Client& a, synod::Client& b, asio::io_context& io) {
  begin("a persistent_recursive WatchStream: each change once, in zxid order", 30s);
  (void)must(a.create("/capi/tree", "t"), "create /capi/tree");
  synod::WatchStream stream(a, "/capi/tree", synod::WatchKind::persistent_recursive);
  (void)must(co_await stream.async_start(std::nullopt, use_awaitable), "start the stream");
  expect_on_main("async_start");
  expect(!(co_await next_within(stream, 150ms)).has_value(),
         "the stream delivered an event before any change");

  struct Want {
    synod::EventType type;
    std::string path;
    std::uint64_t zxid;  // 0: only "between its neighbours"
  };
  std::vector<Want> want;
  auto c1 = must(b.create("/capi/tree/a", ""), "create /capi/tree/a");
  want.push_back({synod::EventType::created, "/capi/tree/a", c1.stat.czxid});
  auto s1 = must(b.set("/capi/tree/a", "x"), "set /capi/tree/a");
  want.push_back({synod::EventType::data_changed, "/capi/tree/a", s1.mzxid});
  auto c2 = must(b.create("/capi/tree/a/b", ""), "create /capi/tree/a/b");
  want.push_back({synod::EventType::created, "/capi/tree/a/b", c2.stat.czxid});
  (void)must(b.remove("/capi/tree/a/b"), "remove /capi/tree/a/b");
  want.push_back({synod::EventType::deleted, "/capi/tree/a/b", 0});
  auto s2 = must(b.set("/capi/tree", "u"), "set /capi/tree");
  want.push_back({synod::EventType::data_changed, "/capi/tree", s2.mzxid});
  (void)must(b.create("/capi/outside", ""), "a change outside the watched tree");

  std::uint64_t last = 0;
  for (const auto& w : want) {
    auto next = co_await next_within(stream, 5s);
    expect(next.has_value(), "no event for " + w.path + " within 5 s");
    auto event = must(std::move(*next), "the stream's next event");
    expect_on_main("async_next");
    expect(event.type == w.type && event.path == w.path,
           "got " + std::string(synod::event_type_name(event.type)) + " " + event.path +
               ", want " + std::string(synod::event_type_name(w.type)) + " " + w.path);
    expect(w.zxid == 0 || event.zxid == w.zxid, "event " + event.path + " has zxid " +
                                                    std::to_string(event.zxid) + ", want " +
                                                    std::to_string(w.zxid));
    expect(event.zxid > last, "events are not in increasing zxid order");
    expect(event.watch_path == "/capi/tree" &&
               event.watch_kind == synod::WatchKind::persistent_recursive,
           "the event names another registration");
    last = event.zxid;
  }
  expect(stream.last_zxid() == s2.mzxid, "last_zxid is not the last event's");
  expect(!(co_await next_within(stream, 300ms)).has_value(),
         "the stream delivered a change twice, or one outside its tree");

  // A deferred operation starts only when it is awaited.
  auto deferred_get = synod::async_get(a, "/capi/tree", {}, asio::experimental::deferred);
  auto via_deferred = must(co_await std::move(deferred_get)(use_awaitable), "a deferred get");
  expect(via_deferred.data == "u", "the deferred get read stale data");

  // close() ends a waiting async_next, and every later one.
  asio::post(io, [&stream] { stream.close(); });
  must_fail(co_await stream.async_next(use_awaitable), synod::ErrorCode::BAD_ARGUMENTS, true,
            "async_next waiting across close()");
  must_fail(co_await stream.async_next(use_awaitable), synod::ErrorCode::BAD_ARGUMENTS, true,
            "async_next after close()");
}

asio::awaitable<void> check_overflow(synod::Client& a, synod::Client& b, Events& events) {
  begin("a WatchStream that falls behind reports lost events", 20s);
  (void)must(a.create("/capi/of", "0"), "create /capi/of");
  synod::WatchStream stream(a, "/capi/of", synod::WatchKind::persistent, 2);
  (void)must(co_await stream.async_start(std::nullopt, use_awaitable), "start");
  std::vector<std::uint64_t> zxids;
  for (int i = 1; i <= 4; ++i) {
    zxids.push_back(must(b.set("/capi/of", std::to_string(i)), "set /capi/of").mzxid);
  }
  barrier(a, b, events, "/capi/of-barrier");
  for (int i = 0; i < 2; ++i) {
    auto event = must(co_await stream.async_next(use_awaitable), "a queued event");
    expect(event.zxid == zxids[static_cast<std::size_t>(i)], "queued events out of order");
  }
  auto lost = must_fail(co_await stream.async_next(use_awaitable),
                        synod::ErrorCode::LIMIT_EXCEEDED, true, "the overflow");
  expect(lost.message.find("lost") != std::string::npos &&
             lost.message.find(std::to_string(zxids[1])) != std::string::npos,
         "the overflow error does not say what was lost: " + lost.message);
  must_fail(co_await stream.async_next(use_awaitable), synod::ErrorCode::LIMIT_EXCEEDED, true,
            "async_next after the overflow");
}

void check_executors(synod::Client& a) {
  begin("completions run on the handler's executor, callbacks on the client thread", 10s);
  // The other context has no work of its own: it keeps running only because
  // the operation holds work on it until its handler ran.
  asio::io_context other;
  std::promise<std::pair<std::thread::id, bool>> ran;
  synod::async_get(a, "/capi", {}, asio::bind_executor(other, [&](synod::Result<synod::Data> r) {
                     ran.set_value({std::this_thread::get_id(), r.ok() && r.value().data == "root"});
                   }));
  std::thread runner([&other] { other.run(); });
  auto future = ran.get_future();
  expect(future.wait_for(5s) == std::future_status::ready,
         "the bound handler never ran (did its io_context run out of work?)");
  const auto [where, ok] = future.get();
  runner.join();
  expect(ok, "the bound handler got the wrong data");
  expect(where != g_main_thread && where != std::thread::id{},
         "the bound handler did not run on its io_context's thread");

  std::promise<bool> callback;
  a.get("/capi", {}, [&](synod::Result<synod::Data> r) {
    callback.set_value(a.on_client_thread() && r.ok() && r.value().data == "root");
  });
  auto cb = callback.get_future();
  expect(cb.wait_for(5s) == std::future_status::ready, "the callback form never called back");
  expect(cb.get(), "the callback did not run on the client thread with the data");

  std::promise<bool> bad;
  a.get("relative", {}, [&](synod::Result<synod::Data> r) {
    bad.set_value(a.on_client_thread() && !r.ok() &&
                  r.error().code == synod::ErrorCode::BAD_ARGUMENTS);
  });
  auto bf = bad.get_future();
  expect(bf.wait_for(5s) == std::future_status::ready, "a bad path never called back");
  expect(bf.get(), "a bad path did not fail BAD_ARGUMENTS on the client thread");
}

asio::awaitable<void> check_session(synod::Client& a) {
  begin("session_id, state, safe_until", 10s);
  expect(a.session_id() != 0, "session_id is 0");
  expect(a.state() == synod::SessionState::connected, "the session is not connected");
  (void)must(a.sync(), "sync");
  const auto now = Clock::now();
  const auto until = a.safe_until();
  expect(until > now, "safe_until is not in the future right after an answer");
  // The engine's clock counts whole milliseconds: allow one (and one more).
  expect(until <= now + std::chrono::milliseconds(a.negotiated_timeout_ms() + 2),
         "safe_until is further than the negotiated timeout");
  expect(a.negotiated_timeout_ms() >= 1000, "the negotiated timeout is below the server's minimum");
  co_return;
}

asio::awaitable<void> check_timeouts(const Setup& setup, synod::Client& a) {
  begin("per-request timeouts while the only server is stopped, then expiry", 90s);
  auto t_options = options_for({setup.servers[0]});
  t_options.session_timeout_ms = 3000;
  t_options.request_timeout_ms = 1500;
  auto t = must(co_await synod::async_connect(t_options, use_awaitable), "connect to server 0");
  expect_on_main("async_connect");
  (void)must(t->create("/capi/t-eph", "", {.kind = synod::NodeKind::ephemeral}), "T's ephemeral");
  (void)must(t->create("/capi/ts", ""), "create /capi/ts");
  auto stream = std::make_unique<synod::WatchStream>(*t, "/capi/ts", synod::WatchKind::persistent);
  (void)must(co_await stream->async_start(std::nullopt, use_awaitable), "start T's stream");

  g_stopped = setup.pids[0];
  expect(kill(setup.pids[0], SIGSTOP) == 0, "SIGSTOP server 0");
  const auto stopped_at = Clock::now();
  const auto until_at_stop = t->safe_until();
  expect(until_at_stop > stopped_at &&
             until_at_stop <= stopped_at + std::chrono::milliseconds(t->negotiated_timeout_ms() + 2),
         "before the stop, safe_until was not within one session timeout ahead");
  const std::int64_t slack_ms = 250 + 750;  // core_deadline_slack_ms + scheduling
  const std::int64_t early_ms = 1;          // the engine's clock counts whole milliseconds

  auto start = Clock::now();
  must_fail(t->set("/capi/ts", "x", {.timeout_ms = 300}), synod::ErrorCode::TIMEOUT, false,
            "a sent write past its timeout");
  auto took = ms_since(start);
  expect(took >= 300 - early_ms && took <= 300 + slack_ms,
         "the write's 300 ms timeout fired after " + std::to_string(took) + " ms");

  start = Clock::now();
  must_fail(t->get("/capi/ts", {.timeout_ms = 300}), synod::ErrorCode::TIMEOUT, true,
            "a read past its timeout");
  took = ms_since(start);
  expect(took >= 300 - early_ms && took <= 300 + slack_ms,
         "the read's 300 ms timeout fired after " + std::to_string(took) + " ms");

  start = Clock::now();
  must_fail(co_await synod::async_get(*t, "/capi/ts", {.timeout_ms = 300}, use_awaitable),
            synod::ErrorCode::TIMEOUT, true, "an awaitable read past its timeout");
  took = ms_since(start);
  expect(took >= 300 - early_ms && took <= 300 + slack_ms,
         "the awaitable read's 300 ms timeout fired after " + std::to_string(took) + " ms");

  std::promise<synod::ErrorCode> callback;
  start = Clock::now();
  t->get("/capi/ts", {.timeout_ms = 300},
         [&callback](synod::Result<synod::Data> r) { callback.set_value(r.code()); });
  auto cb = callback.get_future();
  expect(cb.wait_for(3s) == std::future_status::ready, "the callback form ignored its timeout");
  expect(cb.get() == synod::ErrorCode::TIMEOUT, "the callback form did not time out");
  took = ms_since(start);
  expect(took >= 300 - early_ms && took <= 300 + slack_ms,
         "the callback read's 300 ms timeout fired after " + std::to_string(took) + " ms");

  start = Clock::now();
  must_fail(t->get("/capi/ts", {.timeout_ms = 60000}), synod::ErrorCode::TIMEOUT, true,
            "a timeout above request_timeout_ms");
  took = ms_since(start);
  expect(took >= 1500 - early_ms && took <= 1500 + slack_ms,
         "a 60 s timeout was not clamped to request_timeout_ms 1500: " + std::to_string(took) +
             " ms");

  poll_until("T to see its server as gone (suspended)", 15s,
             [&] { return t->state() == synod::SessionState::suspended; });
  poll_until("T's session to expire at the ensemble (its ephemeral gone)", 40s, [&] {
    auto e = a.exists("/capi/t-eph");
    return e.ok() && !e.value().has_value();
  });
  // No answer came while the server was stopped, so safe_until stayed put
  // (the engine's clock counts whole milliseconds: allow two).
  const auto moved_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            t->safe_until() - until_at_stop)
                            .count();
  expect(moved_ms >= -2 && moved_ms <= 2,
         "safe_until moved by " + std::to_string(moved_ms) + " ms with no server answering");
  expect(kill(setup.pids[0], SIGCONT) == 0, "SIGCONT server 0");
  g_stopped = 0;

  auto end = co_await next_within(*stream, 30s);
  expect(end.has_value(), "the stream did not end when the session expired");
  must_fail(std::move(*end), synod::ErrorCode::SESSION_EXPIRED, true,
            "the stream's end at expiry");
  expect(t->state() == synod::SessionState::expired, "T's state is not expired");
  must_fail(t->get("/capi/ts"), synod::ErrorCode::SESSION_EXPIRED, true, "a read after expiry");
  stream.reset();
}

void check_close(const Setup& setup, synod::Client& a) {
  begin("destroying a client closes its session and removes its ephemerals", 20s);
  auto c = must(synod::Client::connect(options_for({setup.servers[1], setup.servers[2]})),
                "blocking connect");
  (void)must(c->create("/capi/c-eph", "", {.kind = synod::NodeKind::ephemeral}), "ephemeral");
  auto states = std::make_shared<std::vector<synod::SessionState>>();
  auto states_mutex = std::make_shared<std::mutex>();
  (void)c->add_session_listener([states, states_mutex](synod::SessionState s, std::string_view) {
    std::lock_guard lock(*states_mutex);
    states->push_back(s);
  });
  c.reset();
  {
    std::lock_guard lock(*states_mutex);
    expect(!states->empty() && states->back() == synod::SessionState::closed,
           "the session listener did not see the session close");
  }
  expect(!must(a.exists("/capi/c-eph"), "exists").has_value(),
         "the closed session's ephemeral is still there");

  auto invalid = synod::Client::connect(synod::ClientOptions{});
  must_fail(std::move(invalid), synod::ErrorCode::BAD_ARGUMENTS, true, "connect without servers");
}

// A write from a session on a live server; retried while the ensemble elects
// a new leader (a lost write that applied fires its event all the same).
void write_until_ok(const std::string& what, const std::function<synod::ErrorCode()>& write) {
  const auto deadline = Clock::now() + 15s;
  for (;;) {
    const synod::ErrorCode code = write();
    if (code == synod::ErrorCode::OK || code == synod::ErrorCode::NODE_EXISTS) return;
    if (Clock::now() > deadline) {
      fail(what + " kept failing: " + std::string(synod::error_name(code)));
    }
    std::this_thread::sleep_for(50ms);  // a retry's pause, not synchronisation
  }
}

// Last: it SIGKILLs the server the watcher is on (issue 14 point 12).
void check_watches_survive_a_kill(const Setup& setup) {
  begin("every kind of watch set on a server still fires after it is SIGKILLed", 40s);
  Events events;
  auto w_options = options_for(setup.servers);
  w_options.session_timeout_ms = 6000;
  w_options.default_watcher = [&events](const synod::WatchEvent& e) { events.add(e); };
  auto w = must(synod::Client::connect(w_options), "connect the watcher");
  const auto at = std::find(setup.servers.begin(), setup.servers.end(), w->server());
  expect(at != setup.servers.end(), "the watcher's server is not one of --servers");
  const auto killed = static_cast<std::size_t>(at - setup.servers.begin());
  std::vector<std::string> others;
  for (std::size_t i = 0; i < setup.servers.size(); ++i) {
    if (i != killed) others.push_back(setup.servers[i]);
  }
  auto writer = must(synod::Client::connect(options_for(others)), "connect the writer");
  for (const char* p : {"/wk-d", "/wk-c", "/wk-p", "/wk-r"}) {
    (void)must(writer->create(p, "0"), std::string("create ") + p);
  }
  (void)must(w->get("/wk-d", {.watch = true}), "get /wk-d with a watch");
  (void)must(w->exists("/wk-new", {.watch = true}), "exists /wk-new with a watch");
  (void)must(w->children("/wk-c", {.read = {.watch = true}}), "children /wk-c with a watch");
  const auto add = [&events](const synod::WatchEvent& e) { events.add(e); };
  (void)must(w->set_watch("/wk-p", synod::WatchKind::persistent, add), "persistent /wk-p");
  (void)must(w->set_watch("/wk-r", synod::WatchKind::persistent_recursive, add),
             "persistent_recursive /wk-r");

  kill(setup.pids.at(killed), SIGKILL);
  // Changed while the watcher moves (or just after): its one-shot watch fires.
  write_until_ok("set /wk-d", [&] { return writer->set("/wk-d", "1").code(); });
  poll_until("the watcher's session to move off the killed server", 20s, [&] {
    return w->state() == synod::SessionState::connected && w->server() != setup.servers[killed];
  });
  write_until_ok("create /wk-new", [&] { return writer->create("/wk-new", "").code(); });
  write_until_ok("create /wk-c/k", [&] { return writer->create("/wk-c/k", "").code(); });
  write_until_ok("set /wk-p", [&] { return writer->set("/wk-p", "1").code(); });
  write_until_ok("create /wk-r/a", [&] { return writer->create("/wk-r/a", "").code(); });
  (void)events.wait("/wk-d", synod::EventType::data_changed, 10s);
  (void)events.wait("/wk-new", synod::EventType::created, 10s);
  (void)events.wait("/wk-c", synod::EventType::children_changed, 10s);
  (void)events.wait("/wk-p", synod::EventType::data_changed, 10s);
  (void)events.wait("/wk-r/a", synod::EventType::created, 10s);
  expect(events.count("/wk-d") == 1, "the one-shot data watch fired more than once");
}

asio::awaitable<void> run_all(Setup setup, asio::io_context& io) {
  Events events;
  std::atomic<int> blocked_code{-1};
  std::atomic<bool> watcher_on_client{false};
  std::atomic<synod::Client*> a_ptr{nullptr};

  begin("async_connect", 20s);
  auto a_options = options_for({setup.servers[1], setup.servers[2]});
  a_options.default_watcher = [&](const synod::WatchEvent& e) {
    if (synod::Client* self = a_ptr.load(); self != nullptr && blocked_code.load() == -1) {
      watcher_on_client = self->on_client_thread();
      blocked_code = static_cast<int>(self->get("/capi").code());
    }
    events.add(e);
  };
  auto a = must(co_await synod::async_connect(a_options, use_awaitable), "async_connect");
  expect_on_main("async_connect");
  a_ptr = a.get();
  const synod::ClientOptions no_servers;
  must_fail(co_await synod::async_connect(no_servers, use_awaitable),
            synod::ErrorCode::BAD_ARGUMENTS, true, "async_connect without servers");
  expect_on_main("a failed async_connect");
  auto b = must(synod::Client::connect(options_for({setup.servers[0]})), "blocking connect");

  co_await check_session(*a);
  co_await check_creates(*a);
  co_await check_reads(*a);
  co_await check_children(*a);
  co_await check_consistency(*a, *b);
  co_await check_set_remove(*a);
  co_await check_multi(*a);
  co_await check_fences(*a);
  check_one_shot(*a, *b, events, blocked_code, watcher_on_client);
  co_await check_stream(*a, *b, io);
  co_await check_overflow(*a, *b, events);
  check_executors(*a);
  b.reset();  // on server 0, which the next check stops
  co_await check_timeouts(setup, *a);
  check_close(setup, *a);
  a_ptr = nullptr;
  check_watches_survive_a_kill(setup);
  begin("closing", 10s);
}

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto comma = text.find(',', start);
    const auto end = comma == std::string::npos ? text.size() : comma;
    if (end > start) out.push_back(text.substr(start, end - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  Setup setup;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--servers") {
      setup.servers = split(argv[i + 1]);
    } else if (flag == "--pids") {
      for (const auto& p : split(argv[i + 1])) setup.pids.push_back(static_cast<pid_t>(std::stol(p)));
    } else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  if (setup.servers.size() != 3 || setup.pids.size() != 3) {
    std::fprintf(stderr, "usage: %s --servers H:P,H:P,H:P --pids P0,P1,P2\n", argv[0]);
    return 2;
  }
  g_main_thread = std::this_thread::get_id();
  std::thread(watchdog).detach();
  asio::io_context io;
  asio::co_spawn(io, run_all(setup, io), [](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      fail(std::string("an exception escaped: ") + ex.what());
    }
  });
  io.run();
  std::printf("PASS\n");
  std::fflush(stdout);
  std::_Exit(0);
}
