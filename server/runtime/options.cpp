// Parsing and checking of synodd's options (runtime.h). Pure; no Asio here.
#include <sys/resource.h>

#include <algorithm>
#include <charconv>
#include <string>
#include <string_view>

#include "server/runtime/runtime.h"

namespace synod::runtime {

std::string to_string(const Address& address) {
  const bool v6 = address.host.find(':') != std::string::npos;
  return (v6 ? "[" + address.host + "]" : address.host) + ":" + std::to_string(address.port);
}

base::CheckResult<Address> parse_address(std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size()) {
    return base::invalid("address '" + std::string(text) + "' is not HOST:PORT");
  }
  std::string_view host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  const std::string_view port_text = text.substr(colon + 1);
  unsigned port = 0;
  const char* const last = port_text.data() + port_text.size();
  const auto [end, ec] = std::from_chars(port_text.data(), last, port);
  if (ec != std::errc{} || end != last || port > 65535) {
    return base::invalid("address '" + std::string(text) +
                         "' has a port that is not a number in [0, 65535]");
  }
  return Address{std::string(host), static_cast<std::uint16_t>(port)};
}

base::CheckResult<std::map<NodeId, Address>> parse_peers(std::string_view text) {
  std::map<NodeId, Address> out;
  while (!text.empty()) {
    const auto comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    const auto eq = item.find('=');
    if (eq == std::string_view::npos) {
      return base::invalid("peer '" + std::string(item) + "' is not ID=HOST:PORT");
    }
    std::uint32_t id = 0;
    const auto [end, ec] = std::from_chars(item.data(), item.data() + eq, id);
    if (ec != std::errc{} || end != item.data() + eq || id == 0 || id > node_id_max) {
      return base::invalid("peer '" + std::string(item) + "' has an id that is not in [1, " +
                           std::to_string(node_id_max) + "]");
    }
    auto address = parse_address(item.substr(eq + 1));
    if (!address.ok()) return address.status();
    if (!out.emplace(NodeId{id}, std::move(address).value()).second) {
      return base::invalid("peer id " + std::to_string(id) + " appears twice in --peers");
    }
  }
  if (out.empty()) return base::invalid("--peers names no server");
  return out;
}

DescriptorBudget raise_descriptor_limit(std::size_t wanted) {
  const rlim_t need = static_cast<rlim_t>(wanted + descriptors_reserved);
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return {wanted, ""};
  if (limit.rlim_cur < need) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max == RLIM_INFINITY ? need : std::min(need, limit.rlim_max);
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  if (limit.rlim_cur >= need) return {wanted, ""};
  const std::size_t room = limit.rlim_cur > descriptors_reserved + 1
                               ? static_cast<std::size_t>(limit.rlim_cur) - descriptors_reserved
                               : 1;
  return {room, "RLIMIT_NOFILE allows " + std::to_string(limit.rlim_cur) +
                    " descriptors (hard limit " + std::to_string(limit.rlim_max) +
                    "): serving at most " + std::to_string(room) + " client connections, not " +
                    std::to_string(wanted) + "; raise the limit (ulimit -n) for more"};
}

base::CheckStatus RuntimeOptions::validate() const {
  if (id == no_node)
    return base::invalid("--id must be in [1, " + std::to_string(node_id_max) + "]");
  if (!peers.contains(id)) {
    return base::invalid("--peers must include this server's own id " + std::to_string(id.value()));
  }
  if (replica.core.self != id) return base::invalid("the replica's id differs from --id");
  if (cluster_id == 0) return base::invalid("the cluster id is not settled (identity.h)");
  if (client_connections_max == 0) return base::invalid("client_connections_max must be >= 1");
  if (handshake_timeout_ms < 1 || client_idle_timeout_ms < 1) {
    return base::invalid("--handshake-timeout-ms and --client-idle-timeout-ms must be >= 1");
  }
  if (data_dir.empty()) return base::invalid("--data-dir is required");
  return replica.validate();
}

}  // namespace synod::runtime
