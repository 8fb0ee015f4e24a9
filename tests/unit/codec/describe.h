// The codec tests' naive twin: every value the codec carries, spelled out
// field by field as text, written without looking at the codec. Two values
// are equal when their descriptions are; a failure prints both.
#pragma once

#include <string>

#include "consensus/message.h"
#include "protocol/codec.h"
#include "server/codec/peer.h"
#include "server/store/command.h"

namespace synod::codec::test {

// The codec tests cover both codecs: the client protocol's and the peer one.
using namespace synod::protocol;

std::string describe(const consensus::Message& message);
std::string describe(const consensus::Envelope& envelope);
std::string describe(const store::Command& command);
std::string describe(const LogCommand& command);
std::string describe(const ClientRequest& request);
std::string describe(const ServerMessage& message);

}  // namespace synod::codec::test
