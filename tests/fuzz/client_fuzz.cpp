// libFuzzer target: client frames decoded and stepped into a single-voter
// replica (client_step.h, run_client_input). A broken invariant asserts; a
// failure sentence aborts; libFuzzer reports either as a crash.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>

#include "tests/fuzz/client_step.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (const auto failure = synod::fuzz::run_client_input(std::span(data, size))) {
    std::fprintf(stderr, "fuzz-client: %s\n", failure->c_str());
    std::abort();
  }
  return 0;
}
