// Random values for the codec's round-trip tests, every one drawn from a
// seeded base::Prng and valid by our types' rules (so decode(encode(v))
// must give v back).
#pragma once

#include <string>

#include "base/prng.h"
#include "protocol/codec.h"
#include "server/codec/peer.h"

namespace synod::codec::test {

// The codec tests cover both codecs: the client protocol's and the peer one.
using namespace synod::protocol;

std::string random_bytes(base::Prng& prng, std::size_t max_bytes);
protocol::Path random_path(base::Prng& prng);
consensus::Message random_message(base::Prng& prng);
store::Command random_command(base::Prng& prng);
LogCommand random_log_command(base::Prng& prng);
// Requests as decode_client(bytes) yields them.
ClientRequest random_client_request(base::Prng& prng);
ServerMessage random_server_message(base::Prng& prng);

// The tiny client-side builder: a ClientFrame for `request`, written with
// the generated API, independently of protocol/'s encoder.
std::string build_client_frame(const ClientRequest& request);

}  // namespace synod::codec::test
