// libFuzzer target: a data dir built from the input, recovered
// (recovery_step.h, run_recovery_input). Every outcome is an error or a
// state; an assert or a sanitizer report is the crash libFuzzer reports.
#include <cstdint>
#include <span>

#include "tests/fuzz/recovery_step.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  (void)synod::fuzz::run_recovery_input(std::span(data, size));
  return 0;
}
