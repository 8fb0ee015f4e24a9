// Recovery from arbitrary bytes, as the recovery fuzz target (fuzz-recovery)
// and the deterministic fuzz-style unit test (tests/unit/wal/fuzz_test.cpp)
// both drive it (DESIGN.md "On disk": a damaged data dir is an error naming
// file and offset, never a crash).
//
// The input names the files of a data dir (meta, identity, their temps, WAL
// segments, snapshots, stray names) and their bytes. run_recovery_input
// writes them durably into a wal::MemoryDisk, then reads it the three ways a
// starting synodd does: wal::read_identity, replica::Storage::open (which is
// wal::recover and the decoding of its records), and replica::Replica::open
// (which loads the snapshot into the store and restores the core), with
// check_invariants() on a replica that opens. Each must return an error or
// a state; an assert is a finding.
//
// Deterministic: the same input gives the same run.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/ids.h"
#include "server/wal/memory_disk.h"

namespace synod::fuzz {

// What a run saw, for tests that want to know a corpus reaches past the
// first check.
struct RecoveryOutcome {
  bool identity_read = false;  // read_identity returned a value (maybe none)
  bool storage_opened = false;
  bool replica_opened = false;
  Slot snapshot{};  // the slot of the snapshot the replica opened from
};

// The input is a sequence of pieces
//   [u8 kind][u8 number][u16 little-endian length][length bytes]
// kind % 8 names the file: 0 meta, 1 meta.tmp, 2 identity, 3 identity.tmp,
// 4 the WAL segment whose first index is `number`, 5 the snapshot at slot
// `number`, 6 that snapshot's .tmp, 7 a stray file wal/<number>. A name
// seen again is appended to. A short last piece takes what is left.
// kind & 8 (on a file's first piece) makes the bytes a body that the harness
// frames with valid headers and checksums, so the fuzzer reaches the
// decoders behind the CRCs: meta and identity bodies are the blob; a
// segment's (number >= 1) is [u16 length][payload] records; a snapshot's
// (number >= 1) is a u64 wal_index_min and the payload.
[[nodiscard]] RecoveryOutcome run_recovery_input(std::span<const std::uint8_t> bytes);

// The pieces that rebuild `disk`'s data dir (files whose number does not fit
// a byte are left out), in run_recovery_input's format; `framed`: as bodies
// (kind & 8) wherever the file decodes.
[[nodiscard]] std::string encode_data_dir(wal::MemoryDisk& disk, bool framed);

// Data dirs a replica wrote (a fresh one; writes, snapshots, and a moved
// WAL), encoded, to seed a corpus and the unit test's mutations.
[[nodiscard]] std::vector<std::string> recovery_seed_inputs();

}  // namespace synod::fuzz
