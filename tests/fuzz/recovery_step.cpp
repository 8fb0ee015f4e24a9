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

// A file the input builds: raw bytes, or (first piece's kind & 8) a body
// the harness frames with valid checksums (frame_body).
struct Built {
  std::uint8_t kind = 0;
  std::uint8_t number = 0;
  bool framed = false;
  std::string bytes;
};

bool can_frame(std::uint8_t kind, std::uint8_t number) {
  const std::uint8_t k = kind % 8;
  return (kind & 8) != 0 && k != 7 && (k < 4 || number > 0);
}

// Segment body: [u16 length][payload] records. Snapshot body: u64
// wal_index_min (0 or short reads as 1), then the payload.
std::string frame_segment(std::uint8_t number, std::string_view body) {
  std::string out = wal::encode_segment_header(wal::RecordIndex{number});
  while (body.size() >= 2) {
    const std::size_t n =
        std::min<std::size_t>(base::get_le<std::uint16_t>(body, 0), body.size() - 2);
    if (n > 0) wal::encode_record(out, body.substr(2, n));
    body.remove_prefix(2 + n);
  }
  return out;
}

std::string frame_snapshot(std::uint8_t number, std::string_view body) {
  std::uint64_t first = body.size() >= 8 ? base::get_le<std::uint64_t>(body, 0) : 1;
  body.remove_prefix(std::min<std::size_t>(8, body.size()));
  const std::size_t max = static_cast<std::size_t>(wal::snapshot_bytes_max);
  return wal::encode_snapshot(Slot{number}, wal::RecordIndex{first == 0 ? 1 : first},
                              body.substr(0, std::min(body.size(), max)));
}

std::string frame_body(const Built& file) {
  switch (file.kind % 8) {
    case 0:
    case 1: return wal::encode_framed(wal::meta_file, file.bytes.substr(0, wal::meta_bytes_max));
    case 2:
    case 3:
      return wal::encode_framed(wal::identity_file, file.bytes.substr(0, wal::meta_bytes_max));
    case 4: return frame_segment(file.number, file.bytes);
    default: return frame_snapshot(file.number, file.bytes);
  }
}

// The files the input names, with their bytes.
std::map<std::string, std::string> parse_pieces(std::span<const std::uint8_t> bytes) {
  std::map<std::string, Built> built;
  while (bytes.size() >= piece_header_bytes) {
    const std::uint8_t kind = bytes[0], number = bytes[1];
    const std::size_t length = base::load_le<std::uint16_t>(bytes.data() + 2);
    bytes = bytes.subspan(piece_header_bytes);
    const std::size_t n = std::min(length, bytes.size());
    auto [it, fresh] = built.try_emplace(file_name(kind, number));
    if (fresh) it->second = Built{kind, number, can_frame(kind, number), {}};
    it->second.bytes.append(reinterpret_cast<const char*>(bytes.data()), n);
    bytes = bytes.subspan(n);
  }
  std::map<std::string, std::string> files;
  for (auto& [name, file] : built) {
    files[name] = file.framed ? frame_body(file) : std::move(file.bytes);
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

// The slot the replica applied on opening (its snapshot's), if it opens.
std::optional<Slot> open_replica(wal::MemoryDisk& disk) {
  base::Prng prng(1);
  auto opened =
      replica::Replica::open(client_fuzz_options(), disk, prng,
                             consensus::Configuration{{NodeId{1}}, {}}, replica::Time{0, 0});
  if (!opened.ok()) return std::nullopt;
  opened.value()->check_invariants();
  return opened.value()->applied();
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

void append_piece(std::string& out, std::uint8_t kind, std::uint8_t number,
                  std::string_view bytes) {
  do {
    const std::size_t n = std::min<std::size_t>(bytes.size(), 0xFFFF);
    out.push_back(static_cast<char>(kind));
    out.push_back(static_cast<char>(number));
    base::put_le(out, static_cast<std::uint16_t>(n));
    out.append(bytes.substr(0, n));
    bytes.remove_prefix(n);
  } while (!bytes.empty());
}

// The body frame_body would frame back into `contents`, if it decodes.
std::optional<std::string> body_of(std::uint8_t kind, std::uint8_t number, const std::string& name,
                                   const std::string& contents) {
  if (kind == 0 || kind == 2) {
    auto blob = wal::decode_framed(kind == 0 ? wal::meta_file : wal::identity_file, contents);
    return blob.ok() ? std::optional(std::move(blob.value())) : std::nullopt;
  }
  if (kind == 4) {
    const wal::RecordIndex first{number};
    auto scan = wal::scan_segment(name, contents, first, true, first);
    if (!scan.ok()) return std::nullopt;
    std::string body;
    for (const wal::Record& r : scan.value().records) {
      if (r.payload.size() > 0xFFFF) return std::nullopt;
      base::put_le(body, static_cast<std::uint16_t>(r.payload.size()));
      body += r.payload;
    }
    return body;
  }
  if (kind != 5) return std::nullopt;
  auto snapshot = wal::decode_snapshot(name, contents, Slot{number});
  if (!snapshot.ok()) return std::nullopt;
  std::string body;
  base::put_u64(body, snapshot.value().wal_index_min.value());
  return body + snapshot.value().payload;
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
  const std::optional<Slot> applied = open_replica(disk);
  outcome.replica_opened = applied.has_value();
  outcome.snapshot = applied.value_or(Slot{});
  return outcome;
}

std::string encode_data_dir(wal::MemoryDisk& disk, bool framed) {
  std::string out;
  for (std::string_view dir : {std::string_view{}, wal::wal_dir, wal::snap_dir}) {
    auto files = disk.list(dir);
    if (!files.ok()) continue;
    for (const std::string& file : files.value()) {
      const auto piece = piece_of(dir, file);
      const std::string name = dir.empty() ? file : std::string(dir) + "/" + file;
      if (!piece) continue;
      const auto [kind, number] = *piece;
      const std::string& contents = disk.contents(name);
      const auto body = framed ? body_of(kind, number, name, contents) : std::nullopt;
      if (body) {
        append_piece(out, kind | 8, number, *body);
      } else {
        append_piece(out, kind, number, contents);
      }
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
    seeds.push_back(encode_data_dir(fresh.disk(), false));
    seeds.push_back(encode_data_dir(fresh.disk(), true));
  }
  for (const std::string& input : client_seed_inputs()) {
    ClientStepper stepper;
    const auto* data = reinterpret_cast<const std::uint8_t*>(input.data());
    (void)run_client_input_on(stepper, std::span(data, input.size()));
    seeds.push_back(encode_data_dir(stepper.disk(), false));
    seeds.push_back(encode_data_dir(stepper.disk(), true));
  }
  return seeds;
}

}  // namespace synod::fuzz
