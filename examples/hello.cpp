// hello: creates /hello (if absent) and reads it back with the blocking API.
// Usage: hello [HOST:PORT,...]   (default 127.0.0.1:7001)
#include <iostream>

#include "synod/client.h"

int main(int argc, char** argv) {
  synod::ClientOptions options;
  options.servers = synod::split_servers(argc > 1 ? argv[1] : "127.0.0.1:7001");
  auto client = synod::Client::connect(options);
  if (!client) {
    std::cerr << client.error().name() << ": " << client.error().message << "\n";
    return 3;
  }
  auto created = client.value()->create("/hello", "world");
  if (!created && created.error().code != synod::ErrorCode::NODE_EXISTS) {
    std::cerr << created.error().name() << ": /hello\n";
    return 1;
  }
  auto data = client.value()->get("/hello");
  if (!data) {
    std::cerr << data.error().name() << ": /hello\n";
    return 1;
  }
  std::cout << "/hello = " << data.value().data << " (version " << data.value().stat.version
            << ")\n";
  return 0;
}
