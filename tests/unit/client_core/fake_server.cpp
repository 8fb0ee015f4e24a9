#include "fake_server.h"

#include <doctest/doctest.h>

namespace synod::client::test {

ClientOptions test_options() {
  ClientOptions o;
  o.servers = {"a:1", "b:1", "c:1"};
  o.session_timeout_ms = 9000;
  o.request_timeout_ms = 5000;
  o.connect_timeout_ms = 1000;
  o.backoff_min_ms = 100;
  o.backoff_max_ms = 800;
  o.outstanding_max = 8;
  o.waiting_max = 4;
  return o;
}

protocol::Path path(const std::string& text) { return protocol::Path::parse(text).value(); }

protocol::ClientBody get(const std::string& p) { return protocol::GetRequest{path(p), false, {}}; }

protocol::ClientBody set(const std::string& p, std::string data) {
  return protocol::WriteRequest{std::nullopt,
                                protocol::SetOp{path(p), std::move(data), std::nullopt}};
}

Harness::Harness(std::uint64_t seed, ClientOptions options)
    : prng_(seed), core_(std::move(options), prng_) {}

void Harness::collect() {
  for (Action& a : core_.take_actions()) {
    if (const auto* c = std::get_if<Connect>(&a)) {
      described_.push_back("connect " + std::to_string(c->server) + " @" + std::to_string(now));
    } else if (const auto* s = std::get_if<Send>(&a)) {
      described_.push_back("send " + std::to_string(s->bytes.size()) + "B @" + std::to_string(now));
    } else {
      described_.push_back("close @" + std::to_string(now));
    }
    actions_.push_back(std::move(a));
  }
  for (Event& e : core_.take_events()) events_.push_back(std::move(e));
  (void)core_.take_notes();
}

bool Harness::no_actions() {
  collect();
  return actions_.empty();
}

std::size_t Harness::expect_connect() {
  collect();
  REQUIRE(!actions_.empty());
  const auto* c = std::get_if<Connect>(&actions_.front());
  REQUIRE(c != nullptr);
  const std::size_t server = c->server;
  actions_.pop_front();
  return server;
}

protocol::ClientRequest Harness::expect_send() {
  collect();
  REQUIRE(!actions_.empty());
  const auto* s = std::get_if<Send>(&actions_.front());
  REQUIRE(s != nullptr);
  auto decoded = protocol::decode_client(s->bytes);
  REQUIRE_MESSAGE(decoded.ok(), decoded.status().message);
  actions_.pop_front();
  return decoded.value();
}

void Harness::expect_close() {
  collect();
  REQUIRE(!actions_.empty());
  REQUIRE(std::holds_alternative<Close>(actions_.front()));
  actions_.pop_front();
}

std::vector<Event> Harness::events() {
  collect();
  return std::exchange(events_, {});
}

std::vector<Completed> Harness::completions() {
  std::vector<Completed> out;
  for (Event& e : events()) {
    if (auto* c = std::get_if<Completed>(&e)) out.push_back(std::move(*c));
  }
  return out;
}

std::string Harness::describe_actions() {
  collect();
  std::string out;
  for (const std::string& d : described_) out += d + "\n";
  return out;
}

void Harness::connected() { core_.on_connected(now); }
void Harness::disconnected() { core_.on_disconnected(now); }
void Harness::tick_to(std::int64_t t) {
  REQUIRE(t >= now);
  now = t;
  core_.on_tick(now);
}
void Harness::frame(const std::string& bytes) { core_.on_frame(now, bytes); }

void Harness::answer(const protocol::ClientRequest& request, Zxid zxid, protocol::ResultBody body,
                     protocol::Status status) {
  frame(protocol::encode_response(
      protocol::Response{request.request_id, zxid, std::move(status), std::move(body)}));
}

void Harness::watch(Zxid zxid, const std::string& p) {
  protocol::WatchEvent e{protocol::Event{protocol::EventType::data_changed, p, zxid}, path(p),
                         protocol::WatchKind::data};
  frame(protocol::encode_watch_event(e));
}

void Harness::session_event(protocol::SessionState state, const std::string& message) {
  frame(protocol::encode_session_event(protocol::SessionEvent{state, session, message}));
}

RequestId Harness::submit(protocol::ClientBody body) { return core_.submit(now, std::move(body)); }

std::size_t Harness::open(SessionId s, std::int64_t timeout, Zxid zxid) {
  core_.start(now);
  const std::size_t server = expect_connect();
  connected();
  const protocol::ClientRequest open = expect_send();
  REQUIRE(std::holds_alternative<protocol::OpenSessionRequest>(open.body));
  session = s;
  timeout_ms = timeout;
  answer(open, zxid, protocol::SessionResult{s, timeout, timeout, secret});
  REQUIRE(core_.phase() == Phase::connected);
  (void)events();  // the connected event; tests of it open by hand
  return server;
}

protocol::ClientRequest Harness::reconnect_to_move() {
  const std::int64_t until = now + test_options().backoff_max_ms;
  while (now < until && no_actions()) tick_to(now + 10);
  (void)expect_connect();
  connected();
  protocol::ClientRequest open = expect_send();
  REQUIRE(std::holds_alternative<protocol::OpenSessionRequest>(open.body));
  return open;
}

}  // namespace synod::client::test
