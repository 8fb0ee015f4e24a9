#include "server/wal/recovery.h"

#include <utility>

namespace synod::wal {

namespace {

// M1: a meta.tmp left by a crash mid-write_meta() is removed, durably.
Status remove_meta_temp(Disk& disk, std::vector<std::string>& notes) {
  auto files = disk.list("");
  if (!files.ok()) return files.status();
  for (const std::string& file : files.value()) {
    if (file != meta_temp_name) continue;
    if (Status status = disk.remove(meta_temp_name); !status.ok()) return status;
    notes.push_back(std::string(meta_temp_name) + ": removed an unfinished meta write");
    return disk.sync_dir("");
  }
  return Status{};
}

// Snapshots exist but wal/ has no segment: the log was lost, not truncated.
Status check_wal_present(Disk& disk, const Snapshot& snapshot) {
  auto files = disk.list(wal_dir);
  if (!files.ok()) return files.status();
  for (const std::string& file : files.value()) {
    if (parse_segment_file(file)) return Status{};
  }
  return error_status(Code::corrupt, std::string(wal_dir) + "/: no segment at offset 0, but " +
                                         snapshot_name(snapshot.slot) +
                                         " needs records from index " +
                                         std::to_string(snapshot.wal_index_min.value()) +
                                         " (was the wal directory lost?)");
}

}  // namespace

Result<Recovery> recover(Disk& disk, const WalOptions& options) {
  SYNOD_ASSERT(is_valid(options));
  std::vector<std::string> notes;
  if (Status status = remove_meta_temp(disk, notes); !status.ok()) return status;
  auto meta = read_meta(disk);
  if (!meta.ok()) return meta.status();

  auto loaded = load_newest_snapshot(disk);
  if (!loaded.ok()) return loaded.status();
  for (std::string& note : loaded.value().notes) notes.push_back(std::move(note));
  std::optional<Snapshot>& snapshot = loaded.value().snapshot;
  RecordIndex keep_from{1};
  if (snapshot) {
    if (Status status = check_wal_present(disk, *snapshot); !status.ok()) return status;
    keep_from = snapshot->wal_index_min;
  }

  auto opened = Wal::open(disk, options, keep_from);
  if (!opened.ok()) return opened.status();
  Wal::Opened& log = opened.value();
  for (std::string& note : log.notes) notes.push_back(std::move(note));
  SYNOD_ASSERT(log.records.empty() || log.records.front().index == keep_from);
  SYNOD_ASSERT(log.wal.next_index() >= keep_from);
  return Recovery{std::move(meta.value()), std::move(snapshot), std::move(log.records),
                  std::move(notes), std::move(log.wal)};
}

}  // namespace synod::wal
