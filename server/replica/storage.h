// Storage: one replica's consensus state on a Disk port, built on server/wal.
// This header owns the bytes (STYLE.md habit 8).
//
// ## Files
//   meta          written by older versions only: the promised ballot
//                 (wal/meta.h frames it): u64 round, u32 node. Still read.
//   wal/*.log     records (wal/segment.h frames them), one of:
//                   u8 1 accepted: u64 slot, u64 round, u32 node, u8 kind,
//                        u32 data bytes, data, u32 voters, u32 each,
//                        u32 learners, u32 each
//                   u8 2 chosen:   u64 slot  (a hint: every earlier record for
//                        a slot <= it holds that slot's chosen value)
//                   u8 3 promised: u64 round, u32 node
//   snap/*.snap   payload (wal/snapshot_file.h frames it): u32 voters, u32
//                 each, u32 learners, u32 each, then the state machine's bytes.
// All integers little-endian.
//
// ## Writing and crash windows
//   W1 A promise is a WAL record, durable at the next sync() with whatever
//      it allows (one fsync, off the owner's thread like every other). Every
//      snapshot re-appends the newest promise (W4), so dropping the segments
//      before it never loses one. Recovery takes the highest promise of the
//      records and of an old meta file.
//   W2 Accepted values and chosen marks are appended to the WAL and become
//      durable at the next sync(). A crash keeps a prefix of them; a torn
//      last record is truncated by recovery. Votes leave only after sync().
//      A batch is appended in pieces that each fit the WAL's unsynced budget;
//      when the next piece does not fit, the WAL is synced first (back-
//      pressure: an acceptor handed more than it may leave unsynced waits
//      for its disk), so a batch is never refused for its size. The replica
//      keeps that fsync off its thread (must_wait_for_sync) for every batch
//      that fits the budget at all.
//   W3 A snapshot from the leader (PersistBatch::snapshot) is written as a
//      file, synced, before any record of its batch or a later one is
//      appended (else a crash could keep records after a hole the file was
//      to fill), and keeps the previous snapshot's WAL records, so nothing
//      it does not cover is dropped. The file's write may run off the
//      owner's thread (begin_install); the owner then holds back later
//      batches until it is durable (replica.h "Held batches").
//   W4 save_snapshot(s, tail) first appends the log after s again as fresh
//      records, syncs, then writes snapshot s pointing at those records, and
//      only then drops WAL segments and snapshots older than the previous
//      snapshot, so a damaged newest snapshot can fall back one step. The
//      same in three steps so the fsyncs leave the owner's thread:
//      begin_snapshot() appends and encodes, SnapshotWrite::run() syncs the
//      records and then writes the file (on any one thread),
//      finish_snapshot() drops the old. When the re-appended log crossed a
//      segment rotation with unsynced bytes (a held segment, wal.h), one sync
//      does not cover it all: the file waits, and finish_snapshot() sets
//      `again` for another run() and finish until it is covered. The drops are volatile: a crash
//      brings old segments and snapshots back, which recovery removes again
//      (segment.h rule O, snapshot_file.h S3). A failed file write changes
//      nothing the previous snapshot needs; its temp file is removed.
//
// ## After a disk error
//   A failed write or sync fails the WAL (wal.h). The owner drops this
//   Storage, and to try again calls roll_back() with the durable point it
//   had (durable_point(), or a later one a sync begun before the failure
//   confirmed): wal/ is cut back to it and the directories are synced, so
//   nothing a failed write or fsync left behind is trusted. Then open()
//   recovers as at a restart, and write_chosen_mark() proves the disk takes
//   a write and a sync again before the owner relies on it.
//
// ## Recovery
//   The newest valid snapshot (or the initial state), then the records from
//   its wal_index_min on, folded in order: the highest promise wins, the last
//   record for a slot wins;
//   slots at or below the snapshot are ignored. The result must be a
//   contiguous run after the snapshot; a hole is reported as corruption, never
//   skipped.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "consensus/output.h"
#include "consensus/types.h"
#include "server/store/types.h"
#include "server/wal/disk.h"
#include "server/wal/snapshot_file.h"
#include "server/wal/status.h"
#include "server/wal/wal.h"

namespace synod::replica {

// The snapshot file's payload is the configuration (at most this many bytes:
// two counts and every id) and then the store's snapshot.
inline constexpr std::uint64_t snapshot_config_bytes_max = 8 + 4 * 2 * std::uint64_t{node_id_max};
// The largest store snapshot a Storage can write: what the store's quota
// (StoreConfig::bytes_max) and its sessions may make, checked by
// ReplicaOptions::validate(), so no replica ever writes a snapshot the file
// format refuses.
inline constexpr std::uint64_t store_snapshot_bytes_max =
    wal::snapshot_bytes_max - snapshot_config_bytes_max;
static_assert(store::StoreConfig{}.bytes_max +
                      store::snapshot_session_bytes * store::StoreConfig{}.sessions_max <=
                  store_snapshot_bytes_max,
              "the default quota and session limit fit one snapshot file");

class Storage {
 public:
  struct Opened;

  // Recovers what `disk` holds. `initial` is the state before any snapshot
  // (slot 0 and the bootstrap configuration). Errors name file and offset.
  [[nodiscard]] static wal::Result<Opened> open(wal::Disk& disk, const wal::WalOptions& options,
                                                const consensus::Snapshot& initial);

  // After a disk error, before open(): wal::roll_back_to(disk, point), then
  // sync_dir of data_dir and snap/ (a rename of meta or a snapshot whose
  // directory sync failed is kept, made durable: a promise only grows).
  [[nodiscard]] static wal::Status roll_back(wal::Disk& disk, wal::DurablePoint point);

  // Appends a chosen mark for `chosen` (at most what recovery found chosen)
  // and syncs it: the proof, after a disk error, that the disk writes again.
  [[nodiscard]] wal::Status write_chosen_mark(Slot chosen);

  // Where the durable prefix of the WAL ends (wal::Wal::durable_point).
  [[nodiscard]] wal::DurablePoint durable_point() const { return wal_.durable_point(); }

  // Writes one persist batch (rules W1-W3). Records are volatile until sync().
  // A snapshot in it is written and synced first, here.
  [[nodiscard]] wal::Status write(const consensus::PersistBatch& batch);
  // The same in three steps, so a leader's snapshot is written off the
  // owner's thread (rule W3): begin_install() encodes the file, its job
  // writes and syncs it (on any one thread), finish_install() records that it
  // is durable, and only then write_records() appends the batch's records.
  // A failed job changes nothing here but its temp file (abandon_install).
  [[nodiscard]] wal::Result<std::unique_ptr<wal::SyncJob>> begin_install(
      const consensus::Snapshot& snapshot);
  void finish_install(Slot slot);
  // After a failed job: removes its temp file, best effort.
  void abandon_install(Slot slot);
  // write() without the snapshot: the batch's promise, accepted records and
  // chosen mark.
  [[nodiscard]] wal::Status write_records(const consensus::PersistBatch& batch);
  // Whether write_records(batch) would have to sync first (W2) and a sync of
  // what is unsynced now would make it fit: the owner then holds the batch
  // until its next sync finishes instead of fsyncing on its own thread. A
  // batch over the whole unsynced budget still syncs between its pieces.
  [[nodiscard]] bool must_wait_for_sync(const consensus::PersistBatch& batch) const;
  // Makes every record written so far durable: one sync for all (group commit).
  [[nodiscard]] wal::Status sync();
  [[nodiscard]] bool has_unsynced() const;
  // The index the next record will get: a sync whose PendingSync::end
  // reaches it covers every record written so far.
  [[nodiscard]] wal::RecordIndex next_index() const { return wal_.next_index(); }
  // Bytes write() can append before it would have to sync first.
  [[nodiscard]] std::uint64_t unsynced_room() const { return wal_.unsynced_room(); }
  // sync() in two halves, for an fsync thread (wal::Wal::begin_sync): the
  // job covers every record written so far; the owner may keep writing
  // while it runs, and hands its result to finish_sync().
  [[nodiscard]] wal::Result<wal::Wal::PendingSync> begin_sync() { return wal_.begin_sync(); }
  [[nodiscard]] wal::Status finish_sync(const wal::Wal::PendingSync& sync, const wal::Status& ran) {
    return wal_.finish_sync(sync, ran);
  }

  // The owner's snapshot at `snapshot.slot` (rule W4). `tail` is the log
  // after it, in slot order; `chosen` the chosen point (>= snapshot.slot).
  // begin_snapshot, run and finish_snapshot at once.
  [[nodiscard]] wal::Status save_snapshot(const consensus::Snapshot& snapshot,
                                          std::span<const consensus::AcceptedRecord> tail,
                                          Slot chosen);

  // Rule W4 in three steps. One at a time; snapshot.slot above the newest
  // snapshot on disk.
  struct SnapshotWrite {
    Slot slot;
    wal::RecordIndex first;              // the new snapshot's wal_index_min
    wal::RecordIndex end;                // [first, end): the re-appended log
    wal::Wal::PendingSync tail;          // makes (part of) it durable
    std::unique_ptr<wal::SyncJob> file;  // then writes the snapshot file
    std::string payload;                 // the file's bytes until `file` is begun
    bool file_begun = false;
    // Set by finish_snapshot: a segment held behind a rotation kept part of
    // the log out of this round's sync; run() and finish once more.
    bool again = false;
    wal::Status tail_ran;                // what run() saw, for finish_snapshot
    wal::Status file_ran;
    // On any one thread: the tail's sync, then (if it worked) the file.
    // Returns the first failure.
    [[nodiscard]] wal::Status run();
  };
  [[nodiscard]] wal::Result<SnapshotWrite> begin_snapshot(
      const consensus::Snapshot& snapshot, std::span<const consensus::AcceptedRecord> tail,
      Slot chosen);
  // After run(). A failed tail sync fails the WAL (as a failed sync does)
  // and is returned; a failed file write is returned too (Code::io_error or
  // too_large) but leaves Storage as it was, ready for another snapshot.
  [[nodiscard]] wal::Status finish_snapshot(SnapshotWrite& write);

 private:
  Storage(wal::Disk& disk, wal::Wal wal, Slot snapshot_slot, wal::RecordIndex wal_index_min,
          Ballot promised)
      : disk_(&disk),
        wal_(std::move(wal)),
        snapshot_slot_(snapshot_slot),
        snapshot_index_(wal_index_min),
        promised_(promised) {}

  [[nodiscard]] wal::Status append_records(std::span<const std::string> records);
  void begin_file_once_covered(SnapshotWrite& write);

  wal::Disk* disk_;
  wal::Wal wal_;
  Slot snapshot_slot_;                // the newest snapshot on disk
  wal::RecordIndex snapshot_index_;   // the first WAL record it needs
  Ballot promised_;                   // the highest promise written
};

struct Storage::Opened {
  Storage storage;
  consensus::Durable durable;
  std::vector<std::string> notes;  // repairs recovery made (torn tail, ...)
};

// The record and payload encodings, exposed for tests.
[[nodiscard]] std::string encode_accepted(const consensus::AcceptedRecord& record);
[[nodiscard]] std::string encode_chosen(Slot slot);
[[nodiscard]] std::string encode_promised(Ballot ballot);
[[nodiscard]] std::string encode_snapshot_payload(const consensus::Snapshot& snapshot);

}  // namespace synod::replica
