// A scripted fake server for SessionCore tests, built from the codec alone:
// it decodes what the core sends (decode_client) and answers with
// encode_response / encode_watch_event / encode_session_event, so the core
// is driven through the same bytes a real server would send.
#pragma once

#include <deque>
#include <string>
#include <vector>

#include "base/prng.h"
#include "client/core/session_core.h"
#include "protocol/codec.h"

namespace synod::client::test {

ClientOptions test_options();
protocol::Path path(const std::string& text);
protocol::ClientBody get(const std::string& p);
protocol::ClientBody set(const std::string& p, std::string data);

class Harness {
 public:
  explicit Harness(std::uint64_t seed, ClientOptions options = test_options());

  SessionCore& core() { return core_; }
  std::int64_t now = 0;

  // Moves the core's outputs into the harness's queues.
  void collect();
  [[nodiscard]] bool no_actions();
  [[nodiscard]] std::size_t expect_connect();
  [[nodiscard]] protocol::ClientRequest expect_send();
  void expect_close();
  // Every event since the last call.
  [[nodiscard]] std::vector<Event> events();
  [[nodiscard]] std::vector<Completed> completions();
  [[nodiscard]] std::string describe_actions();  // for determinism checks

  // Inputs, each at `now`.
  void connected();
  void disconnected();
  void tick_to(std::int64_t t);
  void frame(const std::string& bytes);
  void answer(const protocol::ClientRequest& request, Zxid zxid, protocol::ResultBody body = {},
              protocol::Status status = {});
  void watch(Zxid zxid, const std::string& p);
  void session_event(protocol::SessionState state, const std::string& message);
  RequestId submit(protocol::ClientBody body);  // the id may be ignored

  // start() then a whole open: returns the server index.
  std::size_t open(SessionId session, std::int64_t timeout_ms, Zxid zxid = Zxid{1});
  // After a drop: ticks through the backoff, connects, expects the move.
  [[nodiscard]] protocol::ClientRequest reconnect_to_move();

  SessionId session{};
  std::int64_t timeout_ms = 0;
  SessionSecret secret{};  // what open() answers

 private:
  base::Prng prng_;
  SessionCore core_;
  std::deque<Action> actions_;
  std::vector<Event> events_;
  std::vector<std::string> described_;
};

}  // namespace synod::client::test
