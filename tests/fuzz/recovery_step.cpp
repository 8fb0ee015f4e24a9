#include "tests/fuzz/recovery_step.h"

#include <map>
#include <utility>

#include "base/little_endian.h"
#include "base/prng.h"
#include "server/replica/replica.h"
#include "server/replica/storage.h"
#include "server/wal/file_names.h"
#include "server/wal/identity.h"
#include "server/wal/meta.h"
#include "server/wal/segment.h"
#include "server/wal/snapshot_file.h"
#include "tests/fuzz/client_step.h"

namespace synod::fuzz {

namespace {

constexpr std::size_t piece_header_bytes = 4;

std::string file_name(std::uint8_t kind, std::uint8_t number) {
  switch (kind % 8) {
    case 0: return std::string(wal::meta_name);
    case 1: return std::string(wal::meta_temp_name);
    case 2: return std::string(wal::identity_name);
    case 3: return std::string(wal::identity_temp_name);
    // By hand, as segment_name and snapshot_name assert a nonzero index
    // or slot: 0 is a stray name here.
    case 4: return "wal/" + wal::zero_padded(number) + ".log";
    case 5: return "snap/" + wal::zero_padded(number) + ".snap";
    case 6: return "snap/" + wal::zero_padded(number) + ".snap.tmp";
    default: return "wal/" + std::to_string(number);
  }
}

// The files the input names, with their bytes, in input order of names.
std::map<std::string, std::string> parse_pieces(std::span<const std::uint8_t> bytes) {
  std::map<std::string, std::string> files;
  while (bytes.size() >= piece_header_bytes) {
    const std::string name = file_name(bytes[0], bytes[1]);
    const std::size_t length = base::load_le<std::uint16_t>(bytes.data() + 2);
    bytes = bytes.subspan(piece_header_bytes);
    const std::size_t n = std::min(length, bytes.size());
    files[name].append(reinterpret_cast<const char*>(bytes.data()), n);
    bytes = bytes.subspan(n);
  }
  return files;
}

void write_durably(wal::MemoryDisk& disk, const std::map<std::string, std::string>& files) {
  for (const auto& [name, contents] : files) {
    SYNOD_ASSERT(disk.create(name).ok());
    SYNOD_ASSERT(disk.append(name, contents).ok());
    SYNOD_ASSERT(disk.sync(name).ok());
  }
  for (std::string_view dir : {std::string_view{}, wal::wal_dir, wal::snap_dir}) {
    SYNOD_ASSERT(disk.sync_dir(dir).ok());
  }
}

bool open_replica(wal::MemoryDisk& disk) {
  base::Prng prng(1);
  auto opened =
      replica::Replica::open(client_fuzz_options(), disk, prng,
                             consensus::Configuration{{NodeId{1}}, {}}, replica::Time{0, 0});
  if (!opened.ok()) return false;
  opened.value()->check_invariants();
  return true;
}

// "wal/000...042.log" -> piece kind 4, number 42; nothing for names the
// format cannot say.
std::optional<std::pair<std::uint8_t, std::uint8_t>> piece_of(std::string_view dir,
                                                              std::string_view file) {
  std::uint64_t number = 0;
  std::uint8_t kind = 0;
  if (dir == wal::wal_dir) {
    const auto first = wal::parse_segment_file(file);
    if (!first) return std::nullopt;
    number = first->value();
    kind = 4;
  } else if (dir == wal::snap_dir) {
    const bool temp = file.ends_with(".snap.tmp");
    if (!temp && !file.ends_with(".snap")) return std::nullopt;
    if (!wal::parse_zero_padded(file.substr(0, 20), &number)) return std::nullopt;
    kind = temp ? 6 : 5;
  } else {
    const std::string_view names[] = {wal::meta_name, wal::meta_temp_name, wal::identity_name,
                                      wal::identity_temp_name};
    for (; kind < 4 && names[kind] != file; ++kind) {
    }
    if (kind == 4) return std::nullopt;
  }
  if (number > 255) return std::nullopt;
  return std::pair{kind, static_cast<std::uint8_t>(number)};
}

void append_piece(std::string& out, std::pair<std::uint8_t, std::uint8_t> piece,
                  std::string_view bytes) {
  do {
    const std::size_t n = std::min<std::size_t>(bytes.size(), 0xFFFF);
    out.push_back(static_cast<char>(piece.first));
    out.push_back(static_cast<char>(piece.second));
    base::put_le(out, static_cast<std::uint16_t>(n));
    out.append(bytes.substr(0, n));
    bytes.remove_prefix(n);
  } while (!bytes.empty());
}

}  // namespace

RecoveryOutcome run_recovery_input(std::span<const std::uint8_t> bytes) {
  wal::MemoryDisk disk;
  write_durably(disk, parse_pieces(bytes));
  RecoveryOutcome outcome;
  outcome.identity_read = wal::read_identity(disk).ok();
  const consensus::Snapshot initial{Slot{0}, consensus::Configuration{{NodeId{1}}, {}},
                                    std::make_shared<const std::string>()};
  outcome.storage_opened = replica::Storage::open(disk, wal::WalOptions{}, initial).ok();
  outcome.replica_opened = open_replica(disk);
  return outcome;
}

std::string encode_data_dir(wal::MemoryDisk& disk) {
  std::string out;
  for (std::string_view dir : {std::string_view{}, wal::wal_dir, wal::snap_dir}) {
    auto files = disk.list(dir);
    if (!files.ok()) continue;
    for (const std::string& file : files.value()) {
      const auto piece = piece_of(dir, file);
      const std::string name = dir.empty() ? file : std::string(dir) + "/" + file;
      if (piece) append_piece(out, *piece, disk.contents(name));
    }
  }
  return out;
}

std::vector<std::string> recovery_seed_inputs() {
  std::vector<std::string> seeds;
  {
    ClientStepper fresh;
    const wal::Identity identity{0x5EED, 1, {{1, "127.0.0.1:2888"}, {2, "[::1]:2888"}}};
    SYNOD_ASSERT(wal::write_identity(fresh.disk(), identity).ok());
    seeds.push_back(encode_data_dir(fresh.disk()));
  }
  for (const std::string& input : client_seed_inputs()) {
    ClientStepper stepper;
    const auto* data = reinterpret_cast<const std::uint8_t*>(input.data());
    (void)run_client_input_on(stepper, std::span(data, input.size()));
    seeds.push_back(encode_data_dir(stepper.disk()));
  }
  return seeds;
}

}  // namespace synod::fuzz
