// recover(): what the replica calls once at start, before anything else
// touches data_dir. It reads meta, the newest valid snapshot and the WAL
// records the snapshot does not cover, repairs what crashes leave behind
// (meta.tmp, snap/*.tmp, a torn WAL tail, an interrupted rotation, obsolete
// segments), makes the repairs durable, and hands back a Wal ready to
// append. Formats and rules: meta.h, snapshot_file.h, segment.h.
//
// Usage:
//   auto recovered = wal::recover(disk, options);
//   if (!recovered.ok()) { log(recovered.status().message()); exit; }  // names file + offset
//   auto& r = recovered.value();
//   if (r.meta) restore promised ballot and configuration from *r.meta;
//   if (r.snapshot) load the store from r.snapshot->payload at r.snapshot->slot;
//   for (auto& record : r.records) replay(record.payload);   // in index order
//   for (auto& note : r.notes) log(note);                      // repairs made
//   then append to r.wal.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "server/wal/disk.h"
#include "server/wal/meta.h"
#include "server/wal/segment.h"
#include "server/wal/snapshot_file.h"
#include "server/wal/status.h"
#include "server/wal/wal.h"

namespace synod::wal {

struct Recovery {
  // The last blob write_meta() made durable; none if it never ran.
  std::optional<std::string> meta;
  // The newest valid snapshot; none if snap/ holds none.
  std::optional<Snapshot> snapshot;
  // Every WAL record from the snapshot's wal_index_min (from 1 without a
  // snapshot) to the end of the log, in index order, contiguous.
  std::vector<Record> records;
  // One sentence per repair or fallback, for the log. Empty after a clean
  // shutdown.
  std::vector<std::string> notes;
  // Open for appending at records.back().index + 1 (or the snapshot's
  // wal_index_min). Holds a reference to the Disk passed to recover().
  Wal wal;
};

// Fails with Code::corrupt naming the file and offset when data_dir is
// damaged beyond the crash rules: a damaged meta, snapshots of which none is
// valid, WAL damage (segment.h rule D), or snapshots with no WAL at all (the
// WAL is created at the first recover(), before any snapshot can exist, and
// is never emptied). Code::io_error when the Disk fails. options must be
// valid (is_valid).
[[nodiscard]] Result<Recovery> recover(Disk& disk, const WalOptions& options);

}  // namespace synod::wal
