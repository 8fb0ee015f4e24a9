#include "tests/fuzz/client_step.h"

#include <utility>
#include <variant>

namespace synod::fuzz {

using replica::ClientId;

namespace {

constexpr std::int64_t tick_ms = 10;
constexpr std::int64_t wall_base_ms = 1'700'000'000'000;

std::string encode_server(const protocol::ServerMessage& message) {
  return std::visit(
      [](const auto& m) -> std::string {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, protocol::Response>) {
          return protocol::encode_response(m);
        } else if constexpr (std::is_same_v<T, protocol::WatchEvent>) {
          return protocol::encode_watch_event(m);
        } else {
          return protocol::encode_session_event(m);
        }
      },
      message);
}

}  // namespace

replica::ReplicaOptions client_fuzz_options() {
  replica::ReplicaOptions o;
  o.core.self = NodeId{1};
  o.core.election_ticks = 10;
  o.core.heartbeat_ticks = 2;
  o.tick_ms = tick_ms;
  o.snapshot_every = 8;
  o.session_timeout_ms_min = 200;
  o.session_timeout_ms_max = 4000;
  o.request_timeout_ms = 1000;
  return o;
}

ClientStepper::ClientStepper() {
  auto opened = replica::Replica::open(client_fuzz_options(), disk_, prng_,
                                       consensus::Configuration{{NodeId{1}}, {}},
                                       replica::Time{now_ms_, wall_base_ms});
  SYNOD_ASSERT_MSG(opened.ok(), "a fresh MemoryDisk opens");
  replica_ = std::move(opened.value());
  settle();
  for (int i = 0; i < 100 && !replica_->core().is_leader(); ++i) tick();
  SYNOD_ASSERT_MSG(replica_->core().is_leader(), "a single voter leads");
}

void ClientStepper::step_frame(ClientId client, std::string_view frame) {
  auto decoded = protocol::decode_client(frame);
  if (!decoded.ok()) return;
  step(client, std::move(decoded.value()));
}

void ClientStepper::step(ClientId client, protocol::ClientRequest request) {
  if (failure_) return;
  replica_->on_request(client, std::move(request));
  settle();
}

void ClientStepper::client_gone(ClientId client) {
  if (failure_) return;
  replica_->on_client_gone(client);
  settle();
}

void ClientStepper::tick(int ticks) {
  for (int i = 0; i < ticks && !failure_; ++i) {
    now_ms_ += tick_ms;
    replica_->on_tick(replica::Time{now_ms_, wall_base_ms + now_ms_});
    settle();
  }
}

// As synodd's runtime: take the output, run snapshot jobs, sync when asked,
// until nothing waits.
void ClientStepper::settle() {
  for (int i = 0; i < 64 && !failure_; ++i) {
    replica::ReplicaOutput out = replica_->take_output();
    replica_->check_invariants();
    for (const replica::ToClient& to : out.to_clients) check_frame(to);
    if (!out.send.empty()) fail("a single voter sent a peer message");
    bool more = false;
    if (out.snapshot_job) {
      (void)out.snapshot_job->run();
      replica_->finish_snapshot(std::move(out.snapshot_job));
      more = true;
    }
    if (out.sync_needed) {
      if (auto why = replica_->sync()) fail("sync failed: " + *why);
      more = true;
    }
    if (replica_->fatal()) fail("replica went fatal: " + *replica_->fatal());
    if (!more) return;
  }
}

void ClientStepper::check_frame(const replica::ToClient& to) {
  ++answered_;
  const std::string frame = encode_server(to.message);
  if (frame.size() > protocol::frame_bytes_max) {
    fail("a frame for client " + std::to_string(to.client.value()) + " has " +
         std::to_string(frame.size()) + " bytes");
    return;
  }
  const auto decoded = protocol::decode_server(frame);
  if (!decoded.ok()) {
    fail("a frame for client " + std::to_string(to.client.value()) +
         " does not decode: " + decoded.status().message);
  }
}

void ClientStepper::fail(std::string why) {
  if (!failure_) failure_ = std::move(why);
}

std::optional<std::string> run_client_input(std::span<const std::uint8_t> bytes) {
  ClientStepper stepper;
  return run_client_input_on(stepper, bytes);
}

std::optional<std::string> run_client_input_on(ClientStepper& stepper,
                                               std::span<const std::uint8_t> bytes) {
  while (bytes.size() >= 2 && !stepper.failure()) {
    const std::uint8_t control = bytes[0];
    const std::size_t n = std::min<std::size_t>(bytes[1], bytes.size() - 2);
    const std::string_view frame(reinterpret_cast<const char*>(bytes.data() + 2), n);
    bytes = bytes.subspan(2 + n);
    const ClientId client{std::uint64_t{control % 4u} + 1};
    if (control == 0xFF) {
      stepper.client_gone(client);
      continue;
    }
    stepper.step_frame(client, frame);
    if ((control & 4u) != 0) stepper.tick((control >> 3) + 1);
  }
  return stepper.failure();
}

}  // namespace synod::fuzz
