// Admission checks of client writes (admission.h).
#include "server/replica/admission.h"

#include <string>
#include <variant>

#include "base/overloaded.h"

namespace synod::replica {

namespace {

using base::Overloaded;

std::size_t fence_bytes(const std::optional<protocol::Fence>& fence) {
  return fence ? fence->path.text().size() : 0;
}

std::size_t op_bytes(const protocol::Op& op) {
  return std::visit(
      Overloaded{
          [](const protocol::CreateOp& o) { return o.path.text().size() + o.data.size(); },
          [](const protocol::SetOp& o) { return o.path.text().size() + o.data.size(); },
          [](const protocol::DeleteOp& o) { return o.path.text().size(); },
          [](const protocol::CheckOp& o) { return o.path.text().size(); },
      },
      op);
}

// The data a create or set would store, or 0.
std::size_t op_data_bytes(const protocol::Op& op) {
  if (const auto* create = std::get_if<protocol::CreateOp>(&op)) return create->data.size();
  if (const auto* set = std::get_if<protocol::SetOp>(&op)) return set->data.size();
  return 0;
}

protocol::Status check_data(const protocol::Op& op, const store::StoreConfig& config) {
  const std::size_t data = op_data_bytes(op);
  if (data <= config.data_bytes_max) return protocol::ok_status();
  return protocol::error_status(protocol::Error::TOO_LARGE,
                                "data of " + std::to_string(data) +
                                    " bytes is above data_bytes_max " +
                                    std::to_string(config.data_bytes_max));
}

protocol::Status check_ops(const store::Command& command, const store::StoreConfig& config) {
  if (const auto* write = std::get_if<store::WriteCommand>(&command)) {
    return check_data(write->op, config);
  }
  const auto* multi = std::get_if<store::MultiCommand>(&command);
  if (multi == nullptr) return protocol::ok_status();
  if (multi->ops.size() > protocol::multi_ops_max) {
    return protocol::error_status(protocol::Error::BAD_ARGUMENTS,
                                  "a multi of " + std::to_string(multi->ops.size()) +
                                      " ops exceeds multi_ops_max " +
                                      std::to_string(protocol::multi_ops_max));
  }
  for (const protocol::MultiOp& op : multi->ops) {
    if (auto status = check_data(op.op, config); !status.ok()) return status;
  }
  return protocol::ok_status();
}

// The command's encoded size once stamped: any non-zero time takes the same
// bytes as the one the leader will stamp (FlatBuffers omits only a zero).
std::size_t stamped_bytes(const codec::LogCommand& command) {
  codec::LogCommand stamped = command;
  stamped.time_ms = 1;
  return codec::encode_command(stamped).size();
}

}  // namespace

CommandPayload command_payload(const store::Command& command) {
  CommandPayload payload;
  if (const auto* write = std::get_if<store::WriteCommand>(&command)) {
    payload.bytes = op_bytes(write->op) + fence_bytes(write->fence);
    payload.ops = 1;
  } else if (const auto* multi = std::get_if<store::MultiCommand>(&command)) {
    payload.bytes = fence_bytes(multi->fence);
    for (const protocol::MultiOp& op : multi->ops) {
      payload.bytes += op_bytes(op.op) + fence_bytes(op.fence);
    }
    payload.ops = multi->ops.size();
  }
  return payload;
}

protocol::Status admit_write(const codec::LogCommand& command, const store::StoreConfig& config) {
  if (auto status = check_ops(command.command, config); !status.ok()) return status;
  const CommandPayload payload = command_payload(command.command);
  const std::size_t bound = payload.bytes + command_fixed_bytes + command_op_bytes * payload.ops;
  if (bound <= command_bytes_max) return protocol::ok_status();
  // Near the limit only: measure exactly what the leader would encode.
  const std::size_t exact =
      payload.bytes > command_bytes_max ? payload.bytes : stamped_bytes(command);
  if (exact <= command_bytes_max) return protocol::ok_status();
  return protocol::error_status(protocol::Error::TOO_LARGE,
                                "the write takes " + std::to_string(exact) +
                                    " bytes as a log entry, above command_bytes_max " +
                                    std::to_string(command_bytes_max) +
                                    "; split it into smaller writes");
}

}  // namespace synod::replica
