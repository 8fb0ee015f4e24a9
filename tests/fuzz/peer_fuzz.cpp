// libFuzzer target: peer frames decoded and stepped into a consensus core
// (peer_step.h, run_peer_input). A broken invariant or an oversized message
// the core sends aborts with its sentence, which libFuzzer reports as a crash.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>

#include "tests/fuzz/peer_step.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (const auto failure = synod::fuzz::run_peer_input(std::span(data, size))) {
    std::fprintf(stderr, "fuzz-peer: %s\n", failure->c_str());
    std::abort();
  }
  return 0;
}
