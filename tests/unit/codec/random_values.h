// Random values for the codec's round-trip tests, every one drawn from a
// seeded base::Prng and valid by our types' rules (so decode(encode(v))
// must give v back).
#pragma once

#include <string>

#include "base/prng.h"
#include "server/codec/client.h"
#include "server/codec/peer.h"

namespace synod::codec::test {

std::string random_bytes(base::Prng& prng, std::size_t max_bytes);
store::Path random_path(base::Prng& prng);
consensus::Message random_message(base::Prng& prng);
store::Command random_command(base::Prng& prng);
LogCommand random_log_command(base::Prng& prng);
// Requests as decode_client(bytes, session) yields them.
ClientRequest random_client_request(base::Prng& prng, SessionId session);
ServerMessage random_server_message(base::Prng& prng);

// The tiny client-side builder: a ClientFrame for `request`, written with
// the generated API the way client/core will. Commands must be writes,
// multis or closes as decode_client yields them.
std::string build_client_frame(const ClientRequest& request);

}  // namespace synod::codec::test
