// fuzz-seeds OUT_DIR: writes the seed inputs of every fuzz target,
// OUT_DIR/<target>/seed-<n>, for scripts/fuzz.sh to start each corpus from
// valid inputs (client_seed_inputs, recovery_seed_inputs, peer_seed_inputs).
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/fuzz/client_step.h"
#include "tests/fuzz/peer_step.h"
#include "tests/fuzz/recovery_step.h"

namespace {

bool write_all(const std::filesystem::path& dir, const std::vector<std::string>& inputs) {
  std::filesystem::create_directories(dir);
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    std::ofstream out(dir / ("seed-" + std::to_string(i)), std::ios::binary | std::ios::trunc);
    out.write(inputs[i].data(), static_cast<std::streamsize>(inputs[i].size()));
    if (!out) return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz-seeds OUT_DIR\n");
    return 2;
  }
  const std::filesystem::path out(argv[1]);
  const bool ok = write_all(out / "fuzz-client", synod::fuzz::client_seed_inputs()) &&
                  write_all(out / "fuzz-recovery", synod::fuzz::recovery_seed_inputs()) &&
                  write_all(out / "fuzz-peer", synod::fuzz::peer_seed_inputs());
  if (!ok) std::fprintf(stderr, "fuzz-seeds: cannot write under %s\n", argv[1]);
  return ok ? 0 : 1;
}
