#include "server/replica/storage.h"

#include <map>
#include <string_view>

#include "base/assert.h"
#include "base/little_endian.h"
#include "server/wal/recovery.h"
#include "server/wal/snapshot_file.h"

namespace synod::replica {

namespace {

using consensus::AcceptedRecord;
using consensus::Configuration;
using consensus::Durable;
using consensus::Entry;
using consensus::EntryKind;

constexpr std::uint8_t record_accepted = 1;
constexpr std::uint8_t record_chosen = 2;
constexpr std::uint8_t record_promised = 3;
constexpr std::uint32_t config_ids_max = node_id_max;

// Reads fixed-width fields from untrusted bytes; any overrun sets `bad`.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}
  std::uint8_t u8() { return take(1) ? base::get_u8(bytes_, offset_ - 1) : 0; }
  std::uint32_t u32() { return take(4) ? base::get_u32(bytes_, offset_ - 4) : 0; }
  std::uint64_t u64() { return take(8) ? base::get_u64(bytes_, offset_ - 8) : 0; }
  std::string_view bytes(std::uint64_t n) {
    if (!take(n)) return {};
    return bytes_.substr(static_cast<std::size_t>(offset_ - n), static_cast<std::size_t>(n));
  }
  [[nodiscard]] bool bad() const { return bad_; }
  [[nodiscard]] bool done() const { return !bad_ && offset_ == bytes_.size(); }

 private:
  bool take(std::uint64_t n) {
    if (bad_ || n > bytes_.size() - offset_) {
      bad_ = true;
      return false;
    }
    offset_ += n;
    return true;
  }
  std::string_view bytes_;
  std::uint64_t offset_ = 0;
  bool bad_ = false;
};

void put_ids(std::string& out, const std::vector<NodeId>& ids) {
  base::put_u32(out, static_cast<std::uint32_t>(ids.size()));
  for (NodeId id : ids) base::put_u32(out, id.value());
}

std::vector<NodeId> get_ids(Reader& in) {
  const std::uint32_t count = in.u32();
  std::vector<NodeId> ids;
  if (count > config_ids_max) {
    (void)in.bytes(~std::uint64_t{0});  // marks the reader bad
    return ids;
  }
  for (std::uint32_t i = 0; i < count && !in.bad(); ++i) ids.push_back(NodeId{in.u32()});
  return ids;
}

std::string encode_ballot(Ballot ballot) {
  std::string out;
  base::put_u64(out, ballot.round);
  base::put_u32(out, ballot.node.value());
  return out;
}

// encode_ballot's bytes back.
Ballot read_ballot(Reader& in) {
  Ballot ballot;
  ballot.round = in.u64();
  ballot.node = NodeId{in.u32()};
  return ballot;
}

wal::Status corrupt(std::string what) {
  return wal::error_status(wal::Code::corrupt, std::move(what));
}

// Folds the WAL records after the snapshot into `durable` (recovery, above).
wal::Status fold_records(const std::vector<wal::Record>& records, Durable& durable) {
  std::map<Slot, AcceptedRecord> log;
  for (const wal::Record& record : records) {
    Reader in(record.payload);
    const std::uint8_t type = in.u8();
    const std::string where = "wal record " + std::to_string(record.index.value());
    if (type == record_chosen) {
      const Slot slot{in.u64()};
      if (!in.done()) return corrupt(where + ": malformed chosen mark");
      durable.chosen = std::max(durable.chosen, slot);
      continue;
    }
    if (type == record_promised) {
      const Ballot promised = read_ballot(in);
      if (!in.done()) return corrupt(where + ": malformed promise");
      durable.promised = std::max(durable.promised, promised);
      continue;
    }
    if (type != record_accepted) return corrupt(where + ": unknown record type");
    AcceptedRecord r;
    r.slot = Slot{in.u64()};
    r.ballot = read_ballot(in);
    const std::uint8_t kind = in.u8();
    r.entry.data = std::string(in.bytes(in.u32()));
    r.entry.config.voters = get_ids(in);
    r.entry.config.learners = get_ids(in);
    if (!in.done() || kind > static_cast<std::uint8_t>(EntryKind::config) ||
        !r.entry.config.valid()) {
      return corrupt(where + ": malformed accepted value");
    }
    r.entry.kind = static_cast<EntryKind>(kind);
    if (r.slot > durable.snapshot.slot) log[r.slot] = std::move(r);
  }
  for (auto& [slot, r] : log) {
    const Slot expected{durable.snapshot.slot.value() + durable.log.size() + 1};
    if (slot != expected) {
      return corrupt("wal: the log has a hole at slot " + std::to_string(expected.value()) +
                     " after the snapshot at slot " +
                     std::to_string(durable.snapshot.slot.value()));
    }
    durable.log.push_back(std::move(r));
  }
  durable.chosen = std::max(durable.chosen, durable.snapshot.slot);
  return {};
}

wal::Status decode_snapshot_payload(const wal::Snapshot& file, consensus::Snapshot& out) {
  Reader in(file.payload);
  out.slot = file.slot;
  out.config.voters = get_ids(in);
  out.config.learners = get_ids(in);
  if (in.bad() || !out.config.valid()) {
    return corrupt("snapshot at slot " + std::to_string(file.slot.value()) +
                   ": malformed configuration");
  }
  const std::size_t header = 8 + 4 * (out.config.voters.size() + out.config.learners.size());
  out.data = std::make_shared<const std::string>(file.payload.substr(header));
  return {};
}

}  // namespace

namespace {

// Sizes of the encodings above, to measure a batch without encoding it.
constexpr std::uint64_t ballot_bytes = 8 + 4;
constexpr std::uint64_t promised_record_bytes = 1 + ballot_bytes;
constexpr std::uint64_t chosen_record_bytes = 1 + 8;

std::uint64_t accepted_record_bytes(const AcceptedRecord& record) {
  return 1 + 8 + ballot_bytes + 1 + 4 + record.entry.data.size() + 4 +
         4 * record.entry.config.voters.size() + 4 + 4 * record.entry.config.learners.size();
}

}  // namespace

std::string encode_accepted(const AcceptedRecord& record) {
  std::string out;
  base::put_u8(out, record_accepted);
  base::put_u64(out, record.slot.value());
  out += encode_ballot(record.ballot);
  base::put_u8(out, static_cast<std::uint8_t>(record.entry.kind));
  base::put_u32(out, static_cast<std::uint32_t>(record.entry.data.size()));
  out += record.entry.data;
  put_ids(out, record.entry.config.voters);
  put_ids(out, record.entry.config.learners);
  SYNOD_ASSERT(out.size() == accepted_record_bytes(record));
  return out;
}

std::string encode_promised(Ballot ballot) {
  std::string out;
  base::put_u8(out, record_promised);
  out += encode_ballot(ballot);
  SYNOD_ASSERT(out.size() == promised_record_bytes);
  return out;
}

std::string encode_chosen(Slot slot) {
  std::string out;
  base::put_u8(out, record_chosen);
  base::put_u64(out, slot.value());
  SYNOD_ASSERT(out.size() == chosen_record_bytes);
  return out;
}

std::string encode_snapshot_payload(const consensus::Snapshot& snapshot) {
  SYNOD_ASSERT(snapshot.data != nullptr);
  std::string out;
  put_ids(out, snapshot.config.voters);
  put_ids(out, snapshot.config.learners);
  out += *snapshot.data;
  return out;
}

wal::Result<Storage::Opened> Storage::open(wal::Disk& disk, const wal::WalOptions& options,
                                           const consensus::Snapshot& initial) {
  auto recovered = wal::recover(disk, options);
  if (!recovered.ok()) return recovered.status();
  wal::Recovery& r = recovered.value();
  Durable durable;
  durable.snapshot = initial;
  if (r.meta) {
    Reader in(*r.meta);
    durable.promised = read_ballot(in);
    if (!in.done()) return corrupt("meta: malformed promise");
  }
  wal::RecordIndex index_min{1};
  if (r.snapshot) {
    if (auto status = decode_snapshot_payload(*r.snapshot, durable.snapshot); !status.ok()) {
      return status;
    }
    index_min = r.snapshot->wal_index_min;
  }
  if (auto status = fold_records(r.records, durable); !status.ok()) return status;
  Storage storage(disk, std::move(r.wal), durable.snapshot.slot, index_min, durable.promised);
  return Opened{std::move(storage), std::move(durable), std::move(r.notes)};
}

// Rule W2: pieces that fit the unsynced budget, syncing first when the next
// does not. One record always fits an empty budget (wal.h).
wal::Status Storage::append_records(std::span<const std::string> records) {
  for (const std::string& record : records) {
    if (record.size() > wal::record_bytes_max) {
      return wal::error_status(
          wal::Code::too_large,
          "a log record of " + std::to_string(record.size()) + " bytes exceeds record_bytes_max");
    }
  }
  std::size_t next = 0;
  while (next < records.size()) {
    std::vector<std::string_view> piece;
    std::uint64_t bytes = 0;
    for (; next < records.size(); ++next) {
      const std::uint64_t on_disk = wal::record_bytes_on_disk(records[next].size());
      if (bytes + on_disk > wal_.unsynced_room()) break;
      bytes += on_disk;
      piece.push_back(records[next]);
    }
    if (piece.empty()) {
      SYNOD_ASSERT(wal_.unsynced_bytes() > 0);
      if (auto status = wal_.sync(); !status.ok()) return status;
      continue;
    }
    auto appended = wal_.append(piece);
    if (!appended.ok()) return appended.status();
  }
  return {};
}

wal::Status Storage::write(const consensus::PersistBatch& batch) {
  if (batch.snapshot) {
    auto file = begin_install(*batch.snapshot);
    if (!file.ok()) return file.status();
    if (auto status = file.value()->run(); !status.ok()) {
      abandon_install(batch.snapshot->slot);
      return status;
    }
    finish_install(batch.snapshot->slot);
  }
  return write_records(batch);
}

// Rule W3: keep the records the previous snapshot needs.
wal::Result<std::unique_ptr<wal::SyncJob>> Storage::begin_install(
    const consensus::Snapshot& snapshot) {
  SYNOD_ASSERT(snapshot.slot > snapshot_slot_);
  return wal::begin_write_snapshot(*disk_, snapshot.slot, snapshot_index_,
                                   encode_snapshot_payload(snapshot));
}

void Storage::finish_install(Slot slot) {
  SYNOD_ASSERT(slot > snapshot_slot_);
  snapshot_slot_ = slot;
}

bool Storage::must_wait_for_sync(const consensus::PersistBatch& batch) const {
  std::uint64_t bytes = 0;
  if (batch.promised) bytes += wal::record_bytes_on_disk(promised_record_bytes);
  for (const AcceptedRecord& r : batch.accepted) {
    bytes += wal::record_bytes_on_disk(accepted_record_bytes(r));
  }
  if (batch.chosen) bytes += wal::record_bytes_on_disk(chosen_record_bytes);
  return bytes > wal_.unsynced_room() && wal_.unsynced_bytes() > 0 &&
         bytes <= wal_.unsynced_room() + wal_.unsynced_bytes();
}

void Storage::abandon_install(Slot slot) {
  (void)wal::remove_snapshot_temp(*disk_, slot);  // best effort; recovery removes it too
}

wal::Status Storage::write_records(const consensus::PersistBatch& batch) {
  std::vector<std::string> records;
  records.reserve(batch.accepted.size() + 2);
  if (batch.promised) {
    promised_ = std::max(promised_, *batch.promised);
    records.push_back(encode_promised(*batch.promised));
  }
  for (const AcceptedRecord& r : batch.accepted) records.push_back(encode_accepted(r));
  if (batch.chosen) records.push_back(encode_chosen(*batch.chosen));
  return append_records(records);
}

wal::Status Storage::sync() { return wal_.sync(); }

wal::Status Storage::roll_back(wal::Disk& disk, wal::DurablePoint point) {
  if (auto status = wal::roll_back_to(disk, point); !status.ok()) return status;
  if (auto status = disk.sync_dir(""); !status.ok()) return status;
  return disk.sync_dir(wal::snap_dir);
}

wal::Status Storage::write_chosen_mark(Slot chosen) {
  const std::string record = encode_chosen(chosen);
  if (auto appended = wal_.append(record); !appended.ok()) return appended.status();
  return wal_.sync();
}

bool Storage::has_unsynced() const { return wal_.durable_end() != wal_.next_index(); }

wal::Status Storage::save_snapshot(const consensus::Snapshot& snapshot,
                                   std::span<const AcceptedRecord> tail, Slot chosen) {
  auto write = begin_snapshot(snapshot, tail, chosen);
  if (!write.ok()) return write.status();
  wal::Status status;
  do {
    (void)write.value().run();
    status = finish_snapshot(write.value());
  } while (status.ok() && write.value().again);
  return status;
}

wal::Status Storage::SnapshotWrite::run() {
  tail_ran = tail.run();
  if (!tail_ran.ok()) return tail_ran;
  if (file) file_ran = file->run();
  return file_ran;
}

wal::Result<Storage::SnapshotWrite> Storage::begin_snapshot(const consensus::Snapshot& snapshot,
                                                            std::span<const AcceptedRecord> tail,
                                                            Slot chosen) {
  SYNOD_ASSERT(snapshot.slot > snapshot_slot_);
  SYNOD_ASSERT(chosen >= snapshot.slot);
  SnapshotWrite write;
  write.slot = snapshot.slot;
  write.first = wal_.next_index();
  std::vector<std::string> records;
  // The promise too: the segments that held it may be dropped (rule W1).
  if (promised_ != Ballot{}) records.push_back(encode_promised(promised_));
  for (const AcceptedRecord& r : tail) {
    SYNOD_ASSERT(r.slot > snapshot.slot);
    records.push_back(encode_accepted(r));
  }
  records.push_back(encode_chosen(chosen));
  if (auto status = append_records(records); !status.ok()) return status;
  auto pending = wal_.begin_sync();
  if (!pending.ok()) return pending.status();
  write.tail = std::move(pending.value());
  write.end = wal_.next_index();
  write.payload = encode_snapshot_payload(snapshot);
  begin_file_once_covered(write);
  return write;
}

// The file may be written once its sync covers every re-appended record;
// a segment held behind a rotation (wal.h) needs another round first.
void Storage::begin_file_once_covered(SnapshotWrite& write) {
  if (write.tail.end < write.end) return;
  auto file = wal::begin_write_snapshot(*disk_, write.slot, write.first, write.payload);
  if (file.ok()) {
    write.file = std::move(file.value());
  } else {
    write.file_ran = file.status();  // nothing to run; finish reports it
  }
  write.file_begun = true;
  std::string().swap(write.payload);
}

wal::Status Storage::finish_snapshot(SnapshotWrite& write) {
  write.again = false;
  if (auto status = wal_.finish_sync(write.tail, write.tail_ran); !status.ok()) return status;
  if (!write.file_begun) {
    auto pending = wal_.begin_sync();  // writes the next held segment
    if (!pending.ok()) return pending.status();
    write.tail = std::move(pending.value());
    write.tail_ran = {};
    begin_file_once_covered(write);
    write.again = true;
    return {};
  }
  if (!write.file_ran.ok()) {
    (void)wal::remove_snapshot_temp(*disk_, write.slot);  // best effort; recovery removes it too
    return write.file_ran;
  }
  if (write.slot <= snapshot_slot_) return {};  // a leader's snapshot came past it meanwhile
  // Keep one snapshot back (rule W4): drop what is older than the previous.
  if (auto status = wal::remove_snapshots_below(*disk_, snapshot_slot_, /*make_durable=*/false);
      !status.ok()) {
    return status;
  }
  if (auto status = wal_.truncate_prefix(snapshot_index_); !status.ok()) return status;
  snapshot_slot_ = write.slot;
  snapshot_index_ = write.first;
  return {};
}

}  // namespace synod::replica
