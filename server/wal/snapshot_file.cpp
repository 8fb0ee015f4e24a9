#include "server/wal/snapshot_file.h"

#include <algorithm>

#include "base/crc32c.h"
#include "base/little_endian.h"
#include "server/wal/file_names.h"

namespace synod::wal {

namespace {

constexpr std::string_view snapshot_suffix = ".snap";
constexpr std::string_view temp_suffix = ".tmp";

std::optional<Slot> parse_snapshot_file(std::string_view file) {
  if (!file.ends_with(snapshot_suffix)) return std::nullopt;
  std::uint64_t slot = 0;
  if (!parse_zero_padded(file.substr(0, file.size() - snapshot_suffix.size()), &slot)) {
    return std::nullopt;
  }
  if (slot == 0) return std::nullopt;
  return Slot{slot};
}

Status corrupt(std::string_view file, const std::string& what) {
  return error_status(Code::corrupt, std::string(file) + ": " + what);
}

std::uint32_t snapshot_crc(std::string_view bytes) {
  SYNOD_ASSERT(bytes.size() >= snapshot_header_bytes);
  const std::uint32_t crc = base::crc32c(bytes.substr(0, 32));
  const std::string_view payload = bytes.substr(snapshot_header_bytes);
  return base::crc32c_extend(crc, payload.data(), payload.size());
}

// Removes leftover temp files (rule S1), durably.
Status remove_temps(Disk& disk, const std::vector<std::string>& files,
                    std::vector<std::string>& notes) {
  bool removed = false;
  for (const std::string& file : files) {
    if (!file.ends_with(temp_suffix)) continue;
    const std::string name = std::string(snap_dir) + "/" + file;
    if (Status status = disk.remove(name); !status.ok()) return status;
    notes.push_back(name + ": removed an unfinished snapshot write");
    removed = true;
  }
  return removed ? disk.sync_dir(snap_dir) : Status{};
}

}  // namespace

std::string snapshot_name(Slot slot) {
  SYNOD_ASSERT(slot.value() > 0);
  return std::string(snap_dir) + "/" + zero_padded(slot.value()) + std::string(snapshot_suffix);
}

std::string encode_snapshot(Slot slot, RecordIndex wal_index_min, std::string_view payload) {
  SYNOD_ASSERT(slot.value() > 0);
  SYNOD_ASSERT(wal_index_min.value() > 0);
  SYNOD_ASSERT(payload.size() <= snapshot_bytes_max);
  std::string bytes;
  bytes.reserve(snapshot_header_bytes + payload.size());
  base::put_u32(bytes, snapshot_magic);
  base::put_u8(bytes, snapshot_file_version);
  for (int i = 0; i < 3; ++i) base::put_u8(bytes, 0);
  base::put_u64(bytes, slot.value());
  base::put_u64(bytes, wal_index_min.value());
  base::put_u64(bytes, payload.size());
  base::put_u32(bytes, 0);  // crc, filled in below
  bytes.append(payload);
  const std::uint32_t crc = snapshot_crc(bytes);
  base::store_le(reinterpret_cast<unsigned char*>(bytes.data()) + 32, crc);
  SYNOD_ASSERT(bytes.size() == snapshot_header_bytes + payload.size());
  return bytes;
}

Result<Snapshot> decode_snapshot(std::string_view file, std::string_view bytes,
                                 Slot expected_slot) {
  if (bytes.size() < snapshot_header_bytes) {
    return corrupt(file, "snapshot header is " + std::to_string(bytes.size()) +
                             " bytes at offset 0, needs " + std::to_string(snapshot_header_bytes));
  }
  if (base::get_u32(bytes, 0) != snapshot_magic) return corrupt(file, "bad magic at offset 0");
  const std::uint8_t version = base::get_u8(bytes, 4);
  if (version != snapshot_file_version) {
    return corrupt(file, "unsupported format version " + std::to_string(version) +
                             " at offset 4 (this build reads " +
                             std::to_string(snapshot_file_version) + ")");
  }
  const std::uint64_t length = base::get_u64(bytes, 24);
  if (length > snapshot_bytes_max || length != bytes.size() - snapshot_header_bytes) {
    return corrupt(file, "payload length " + std::to_string(length) +
                             " at offset 24 disagrees with the file size " +
                             std::to_string(bytes.size()));
  }
  if (snapshot_crc(bytes) != base::get_u32(bytes, 32)) {
    return corrupt(file, "bad checksum at offset 32");
  }
  Snapshot snapshot{Slot{base::get_u64(bytes, 8)}, RecordIndex{base::get_u64(bytes, 16)},
                    std::string(bytes.substr(snapshot_header_bytes))};
  if (snapshot.slot != expected_slot) {
    return corrupt(file, "slot " + std::to_string(snapshot.slot.value()) +
                             " at offset 8 disagrees with the file name");
  }
  if (snapshot.wal_index_min.value() == 0) return corrupt(file, "wal_index_min 0 at offset 16");
  SYNOD_ASSERT(snapshot.payload.size() == length);
  return snapshot;
}

Status write_snapshot(Disk& disk, Slot slot, RecordIndex wal_index_min,
                      std::string_view payload) {
  if (payload.size() > snapshot_bytes_max) {
    return error_status(Code::too_large, "snapshot of " + std::to_string(payload.size()) +
                                             " bytes exceeds snapshot_bytes_max");
  }
  const std::string name = snapshot_name(slot);
  const std::string bytes = encode_snapshot(slot, wal_index_min, payload);
  // Decode what is about to be written (STYLE.md habit 11).
  SYNOD_ASSERT(decode_snapshot(name, bytes, slot).ok());
  return replace_now(disk, name, bytes);
}

Result<std::unique_ptr<SyncJob>> begin_write_snapshot(Disk& disk, Slot slot,
                                                      RecordIndex wal_index_min,
                                                      std::string_view payload) {
  if (payload.size() > snapshot_bytes_max) {
    return error_status(Code::too_large, "snapshot of " + std::to_string(payload.size()) +
                                             " bytes exceeds snapshot_bytes_max");
  }
  std::string bytes = encode_snapshot(slot, wal_index_min, payload);
  SYNOD_ASSERT(bytes.size() == snapshot_header_bytes + payload.size());
  return disk.begin_replace(snapshot_name(slot), std::move(bytes));
}

Status remove_snapshot_temp(Disk& disk, Slot slot) {
  const std::string temp = snapshot_name(slot) + std::string(temp_suffix);
  Status removed = disk.remove(temp);
  return removed.error == Code::not_found ? Status{} : removed;
}

Result<std::vector<Slot>> list_snapshots(Disk& disk) {
  auto files = disk.list(snap_dir);
  if (!files.ok()) return files.status();
  std::vector<Slot> slots;
  for (const std::string& file : files.value()) {
    if (const auto slot = parse_snapshot_file(file)) slots.push_back(*slot);
  }
  std::sort(slots.begin(), slots.end());
  return slots;
}

Result<LoadedSnapshot> load_newest_snapshot(Disk& disk) {
  LoadedSnapshot loaded;
  auto files = disk.list(snap_dir);
  if (!files.ok()) return files.status();
  if (Status status = remove_temps(disk, files.value(), loaded.notes); !status.ok()) return status;
  for (const std::string& file : files.value()) {
    if (!file.ends_with(temp_suffix) && !parse_snapshot_file(file)) {
      loaded.notes.push_back(std::string(snap_dir) + "/" + file + ": not a snapshot name; ignored");
    }
  }
  auto slots = list_snapshots(disk);
  if (!slots.ok()) return slots.status();
  std::optional<Status> newest_damage;
  for (auto slot = slots.value().rbegin(); slot != slots.value().rend(); ++slot) {
    const std::string name = snapshot_name(*slot);
    auto bytes = read_whole(disk, name);
    if (!bytes.ok()) return bytes.status();
    auto snapshot = decode_snapshot(name, bytes.value(), *slot);
    if (snapshot.ok()) {
      loaded.snapshot = std::move(snapshot).value();
      return loaded;
    }
    loaded.notes.push_back(snapshot.status().message + "; falling back to an older snapshot");
    if (!newest_damage) newest_damage = snapshot.status();
  }
  if (newest_damage) {
    return error_status(Code::corrupt,
                        newest_damage->message + " (and no older snapshot is valid)");
  }
  return loaded;
}

Status remove_snapshots_below(Disk& disk, Slot keep_from, bool make_durable) {
  auto slots = list_snapshots(disk);
  if (!slots.ok()) return slots.status();
  bool removed = false;
  for (Slot slot : slots.value()) {
    if (slot >= keep_from) break;
    if (Status status = disk.remove(snapshot_name(slot)); !status.ok()) return status;
    removed = true;
  }
  return removed && make_durable ? disk.sync_dir(snap_dir) : Status{};
}

}  // namespace synod::wal
