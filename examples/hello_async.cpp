// hello_async: the awaitable API (synod/asio.h). Connects, creates /hello
// (if absent), watches it with a WatchStream, changes it, and prints the
// change the stream reports, all from one coroutine on one io_context.
// Usage: hello_async [HOST:PORT,...]   (default 127.0.0.1:7001)
#include <asio.hpp>
#include <iostream>
#include <string>

#include "synod/asio.h"

namespace {

asio::awaitable<int> run(std::string servers) {
  using asio::use_awaitable;
  synod::ClientOptions options;
  options.servers = synod::split_servers(servers);
  auto connected = co_await synod::async_connect(options, use_awaitable);
  if (!connected) {
    std::cerr << connected.error().name() << ": " << connected.error().message << "\n";
    co_return 3;
  }
  synod::Client& client = *connected.value();

  auto created = co_await synod::async_create(client, "/hello", "world", {}, use_awaitable);
  if (!created && created.error().code != synod::ErrorCode::NODE_EXISTS) {
    std::cerr << created.error().name() << ": /hello\n";
    co_return 1;
  }

  synod::WatchStream stream(client, "/hello", synod::WatchKind::persistent);
  if (auto started = co_await stream.async_start(std::nullopt, use_awaitable); !started) {
    std::cerr << started.error().name() << ": watch /hello\n";
    co_return 1;
  }
  auto set = co_await synod::async_set(client, "/hello", "again", {}, use_awaitable);
  if (!set) {
    std::cerr << set.error().name() << ": /hello\n";
    co_return 1;
  }
  auto event = co_await stream.async_next(use_awaitable);
  if (!event) {
    std::cerr << event.error().name() << ": " << event.error().message << "\n";
    co_return 1;
  }
  std::cout << synod::event_type_name(event.value().type) << " " << event.value().path
            << " at zxid " << event.value().zxid << " (version " << set.value().version << ")\n";
  co_return 0;
}

}  // namespace

int main(int argc, char** argv) {
  asio::io_context io;
  int code = 1;
  asio::co_spawn(io, run(argc > 1 ? argv[1] : "127.0.0.1:7001"),
                 [&code](std::exception_ptr error, int result) {
                   code = error ? 1 : result;
                 });
  io.run();
  return code;
}
