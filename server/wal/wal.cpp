#include "server/wal/wal.h"

#include <algorithm>
#include <utility>

namespace synod::wal {

namespace {

RecordIndex after(RecordIndex index) { return RecordIndex{index.value() + 1}; }

Status failed_status() {
  return error_status(Code::failed,
                      "wal: an earlier disk error left the log in an unknown state; restart the "
                      "server so recovery can read what is durable");
}

}  // namespace

bool is_valid(const WalOptions& options) {
  return options.segment_bytes_max >= segment_bytes_max_min &&
         options.segment_bytes_max <= segment_bytes_max_limit &&
         options.unsynced_bytes_max >= unsynced_bytes_max_min &&
         options.unsynced_bytes_max <= unsynced_bytes_max_limit;
}

RecordIndex Wal::first_index() const {
  SYNOD_ASSERT(!segments_.empty());
  return segments_.front().first;
}

Status Wal::fail(Status status) {
  SYNOD_ASSERT(!status.ok());
  failed_ = true;
  return status;
}

// ---- open and recovery (segment.h rules T, H, O, D) ----

Result<Wal::Opened> Wal::open(Disk& disk, const WalOptions& options, RecordIndex keep_from) {
  SYNOD_ASSERT(is_valid(options));
  SYNOD_ASSERT(keep_from.value() >= 1);
  Opened out{Wal(disk, options), {}, {}};
  if (Status status = out.wal.recover(keep_from, out); !status.ok()) return status;
  const Wal& wal = out.wal;
  SYNOD_ASSERT(!wal.failed_);
  SYNOD_ASSERT(!wal.segments_.empty());
  SYNOD_ASSERT(wal.next_index_ >= keep_from);
  SYNOD_ASSERT(wal.durable_end_ == wal.next_index_);
  SYNOD_ASSERT(wal.unsynced_bytes() == 0);
  RecordIndex expected = keep_from;
  for (const Record& record : out.records) {
    SYNOD_ASSERT(record.index == expected);
    expected = after(expected);
  }
  SYNOD_ASSERT(out.records.empty() || expected == wal.next_index_);
  out.wal.durable_point_ = DurablePoint{wal.segments_.back().first, wal.open_segment_bytes_};
  return out;
}

Status Wal::recover(RecordIndex keep_from, Opened& out) {
  next_index_ = keep_from;
  if (Status status = list_segments(out.notes); !status.ok()) return status;
  if (Status status = remove_obsolete(keep_from, &out.notes, true); !status.ok()) return status;
  if (!segments_.empty()) {
    if (Status status = scan_all(keep_from, out); !status.ok()) return status;
  }
  if (segments_.empty()) {
    next_index_ = std::max(next_index_, keep_from);
    durable_end_ = next_index_;
    return start_segment(next_index_);
  }
  durable_end_ = next_index_;
  if (next_index_ < keep_from) {
    out.notes.push_back(segments_.back().name + ": the log ends before index " +
                        std::to_string(next_index_.value()) + " but the snapshot covers up to " +
                        std::to_string(keep_from.value() - 1) + "; continuing at index " +
                        std::to_string(keep_from.value()) + " in a new segment");
    next_index_ = keep_from;
    durable_end_ = keep_from;
    return start_segment(keep_from);
  }
  return Status{};
}

Status Wal::list_segments(std::vector<std::string>& notes) {
  auto files = disk_->list(wal_dir);
  if (!files.ok()) return files.status();
  for (const std::string& file : files.value()) {
    if (const auto first = parse_segment_file(file)) {
      segments_.push_back(Segment{*first, segment_name(*first)});
    } else {
      notes.push_back(std::string(wal_dir) + "/" + file + ": not a segment name; ignored");
    }
  }
  std::sort(segments_.begin(), segments_.end(),
            [](const Segment& a, const Segment& b) { return a.first < b.first; });
  return Status{};
}

// Rule O: a segment whose successor starts at or below keep_from holds only
// records below keep_from. Also the body of truncate_prefix().
Status Wal::remove_obsolete(RecordIndex keep_from, std::vector<std::string>* notes,
                            bool make_durable) {
  // Never the segment a held one waits on, nor a held one.
  const std::size_t removable = segments_.size() - std::min(segments_.size(), held_.size() + 1);
  std::size_t obsolete = 0;
  while (obsolete < removable && segments_[obsolete + 1].first <= keep_from) {
    ++obsolete;
  }
  if (obsolete == 0) return Status{};
  for (std::size_t i = 0; i < obsolete; ++i) {
    if (Status status = disk_->remove(segments_[i].name); !status.ok()) return status;
    if (notes != nullptr) {
      notes->push_back(segments_[i].name + ": removed; every record in it is below index " +
                       std::to_string(keep_from.value()) + ", which the snapshot covers");
    }
  }
  segments_.erase(segments_.begin(), segments_.begin() + static_cast<std::ptrdiff_t>(obsolete));
  SYNOD_ASSERT(!segments_.empty());
  SYNOD_ASSERT(segments_.size() == 1 || segments_[1].first > keep_from || !held_.empty());
  ++dir_changes_;
  if (!make_durable) return Status{};
  if (Status status = disk_->sync_dir(wal_dir); !status.ok()) return status;
  dir_synced_changes_ = dir_changes_;
  return Status{};
}

// Rule D for the sequence: each segment starts where the previous one ended,
// and the first one no later than keep_from.
Status Wal::check_sequence(std::size_t position, RecordIndex expected,
                           RecordIndex keep_from) const {
  const Segment& segment = segments_[position];
  if (position == 0 && segment.first > keep_from) {
    return error_status(Code::corrupt, segment.name + ": first index " +
                                           std::to_string(segment.first.value()) +
                                           " at offset 8, but records from index " +
                                           std::to_string(keep_from.value()) +
                                           " are needed (a segment is missing)");
  }
  if (position > 0 && segment.first != expected) {
    return error_status(Code::corrupt,
                        segment.name + ": first index " + std::to_string(segment.first.value()) +
                            " at offset 8 does not follow " + segments_[position - 1].name +
                            ", which ends before index " + std::to_string(expected.value()) +
                            " (a segment is missing)");
  }
  return Status{};
}

Status Wal::scan_all(RecordIndex keep_from, Opened& out) {
  RecordIndex expected{0};
  std::uint64_t previous_bytes = 0;
  for (std::size_t i = 0; i < segments_.size(); ++i) {
    const Segment& segment = segments_[i];
    const bool is_last = i + 1 == segments_.size();
    auto bytes = read_whole(*disk_, segment.name);
    if (!bytes.ok()) return bytes.status();
    auto scanned = scan_segment(segment.name, bytes.value(), segment.first, is_last, keep_from);
    if (!scanned.ok()) return scanned.status();
    SegmentScan& scan = scanned.value();
    if (scan.header_incomplete) {
      SYNOD_ASSERT(is_last);
      open_segment_bytes_ = previous_bytes;
      // With no segment left, recover() starts one at max(this, keep_from).
      next_index_ = i == 0 ? segment.first : expected;
      return remove_interrupted_rotation(bytes.value().size(), out.notes);
    }
    if (Status status = check_sequence(i, expected, keep_from); !status.ok()) return status;
    expected = RecordIndex{segment.first.value() + scan.record_count};
    for (Record& record : scan.records) out.records.push_back(std::move(record));
    previous_bytes = scan.valid_bytes;
    if (is_last) {
      open_segment_bytes_ = scan.valid_bytes;
      next_index_ = expected;
      return truncate_torn_tail(scan, bytes.value().size(), out.notes);
    }
  }
  SYNOD_UNREACHABLE();
}

// Rule H: the last segment has no valid header and no room for a record.
Status Wal::remove_interrupted_rotation(std::uint64_t file_bytes,
                                        std::vector<std::string>& notes) {
  const Segment segment = segments_.back();
  if (Status status = disk_->remove(segment.name); !status.ok()) return status;
  if (Status status = disk_->sync_dir(wal_dir); !status.ok()) return status;
  segments_.pop_back();
  notes.push_back(segment.name + ": removed; its header (" + std::to_string(file_bytes) +
                  " bytes) was never completed, so a crash interrupted the start of this "
                  "segment before any record was written to it");
  return Status{};
}

// Rule T: cut the torn tail off the last segment, durably.
Status Wal::truncate_torn_tail(const SegmentScan& scan, std::uint64_t file_bytes,
                               std::vector<std::string>& notes) {
  if (!scan.torn_tail) {
    SYNOD_ASSERT(scan.valid_bytes == file_bytes);
    return Status{};
  }
  SYNOD_ASSERT(scan.valid_bytes < file_bytes);
  const std::string& name = segments_.back().name;
  if (Status status = disk_->truncate(name, scan.valid_bytes); !status.ok()) return status;
  if (Status status = disk_->sync(name); !status.ok()) return status;
  notes.push_back(name + ": truncated a torn tail at offset " + std::to_string(scan.valid_bytes) +
                  " (" + std::to_string(file_bytes - scan.valid_bytes) +
                  " bytes of an unsynced write lost in a crash)");
  return Status{};
}

// ---- writing ----

namespace {

// The jobs of one sync, run in order; the first failure stops them.
class SyncJobs final : public SyncJob {
 public:
  void add(std::unique_ptr<SyncJob> job) { jobs_.push_back(std::move(job)); }
  [[nodiscard]] bool empty() const { return jobs_.empty(); }
  Status run() override {
    for (const auto& job : jobs_) {
      if (Status status = job->run(); !status.ok()) return status;
    }
    return Status{};
  }

 private:
  std::vector<std::unique_ptr<SyncJob>> jobs_;
};

}  // namespace

// At open: the new segment is durable, directory entry included, at once.
Status Wal::start_segment(RecordIndex first) {
  const std::string name = segment_name(first);
  const std::string header = encode_segment_header(first);
  if (Status status = disk_->create(name); !status.ok()) return fail(status);
  if (Status status = disk_->append(name, header); !status.ok()) return fail(status);
  if (Status status = disk_->sync(name); !status.ok()) return fail(status);
  if (Status status = disk_->sync_dir(wal_dir); !status.ok()) return fail(status);
  SYNOD_ASSERT(segments_.empty() || segments_.back().first < first);
  segments_.push_back(Segment{first, name});
  open_segment_bytes_ = segment_header_bytes;
  return Status{};
}

// segment.h W3 when the full segment is durable already: the new one is
// created and its header appended (its own append, so a torn header is rule
// H), all volatile; the next sync covers them and the directory entry.
Status Wal::start_segment_unsynced(RecordIndex first) {
  const std::string name = segment_name(first);
  if (Status status = disk_->create(name); !status.ok()) return fail(status);
  ++dir_changes_;
  if (Status status = disk_->append(name, encode_segment_header(first)); !status.ok()) {
    return fail(status);
  }
  return Status{};
}

Status Wal::check_batch(std::span<const std::string_view> payloads) const {
  SYNOD_ASSERT_MSG(!payloads.empty(), "append() needs at least one record");
  std::uint64_t batch_bytes = 0;
  for (std::string_view payload : payloads) {
    SYNOD_ASSERT_MSG(!payload.empty(), "a record has at least one byte");
    if (payload.size() > record_bytes_max) {
      return error_status(Code::too_large, "wal: a record of " + std::to_string(payload.size()) +
                                               " bytes exceeds record_bytes_max (" +
                                               std::to_string(record_bytes_max) + ")");
    }
    batch_bytes += record_bytes_on_disk(payload.size());
  }
  if (unsynced_bytes() + batch_bytes > options_.unsynced_bytes_max) {
    return error_status(Code::too_large, "wal: appending " + std::to_string(batch_bytes) +
                                             " bytes to " + std::to_string(unsynced_bytes()) +
                                             " unsynced ones exceeds "
                                             "unsynced_bytes_max (" +
                                             std::to_string(options_.unsynced_bytes_max) +
                                             "); sync() first or split the batch");
  }
  return Status{};
}

// Into the open segment's file, or into memory while it is held.
Status Wal::flush(std::string& buffer) {
  if (buffer.empty()) return Status{};
  if (!held_.empty()) {
    held_.back().records += buffer;
  } else if (Status status = disk_->append(segments_.back().name, buffer); !status.ok()) {
    return fail(status);
  }
  open_segment_bytes_ += buffer.size();
  appended_bytes_ += buffer.size();
  buffer.clear();
  return Status{};
}

// segment.h W3. No sync here: a full segment with unsynced bytes (or one
// itself held) makes the new segment a held one.
Status Wal::rotate() {
  SYNOD_ASSERT(next_index_ > segments_.back().first);
  const bool durable = held_.empty() && unsynced_bytes() == 0;
  if (durable) {
    if (Status status = start_segment_unsynced(next_index_); !status.ok()) return status;
  } else {
    held_.push_back(Held{appended_bytes_, {}, open_segment_bytes_});
  }
  segments_.push_back(Segment{next_index_, segment_name(next_index_)});
  open_segment_bytes_ = segment_header_bytes;
  appended_bytes_ += segment_header_bytes;
  return Status{};
}

// Writes the oldest held segment once everything before it is durable.
Status Wal::maybe_write_held() {
  if (held_.empty() || synced_bytes_ < held_.front().ready_at) return Status{};
  const Segment& segment = segments_[segments_.size() - held_.size()];
  if (Status status = start_segment_unsynced(segment.first); !status.ok()) return status;
  if (!held_.front().records.empty()) {
    if (Status status = disk_->append(segment.name, held_.front().records); !status.ok()) {
      return fail(status);
    }
  }
  held_.pop_front();
  return Status{};
}

Result<RecordIndex> Wal::append(std::span<const std::string_view> payloads) {
  if (failed_) return failed_status();
  if (Status status = check_batch(payloads); !status.ok()) return status;
  if (Status status = maybe_write_held(); !status.ok()) return status;
  const RecordIndex first = next_index_;
  std::string buffer;
  for (std::string_view payload : payloads) {
    const std::uint64_t record_bytes = record_bytes_on_disk(payload.size());
    const bool segment_has_record = next_index_ > segments_.back().first;
    if (segment_has_record &&
        open_segment_bytes_ + buffer.size() + record_bytes > options_.segment_bytes_max) {
      if (Status status = flush(buffer); !status.ok()) return status;
      if (Status status = rotate(); !status.ok()) return status;
    }
    encode_record(buffer, payload);
    next_index_ = after(next_index_);
  }
  if (Status status = flush(buffer); !status.ok()) return status;
  SYNOD_ASSERT(next_index_.value() == first.value() + payloads.size());
  SYNOD_ASSERT(unsynced_bytes() <=
               options_.unsynced_bytes_max + segment_header_bytes * (held_.size() + 1));
  return first;
}

Result<RecordIndex> Wal::append(std::string_view payload) {
  return append(std::span<const std::string_view>(&payload, 1));
}

// Each round makes one more held segment durable; a held segment is written
// only after the round before it, so there are at most held_.size() + 2.
Status Wal::sync() {
  const std::size_t rounds_max = held_.size() + 3;
  for (std::size_t round = 0; round < rounds_max; ++round) {
    auto pending = begin_sync();
    if (!pending.ok()) return pending.status();
    if (Status status = finish_sync(pending.value(), pending.value().run()); !status.ok()) {
      return status;
    }
    if (unsynced_bytes() == 0 && held_.empty() && !dir_unsynced()) break;
  }
  SYNOD_ASSERT(durable_end_ == next_index_ && held_.empty());
  return Status{};
}

// Every unsynced byte is in one file: the open segment, or, while segments
// are held, the segment the oldest held one waits on. So one fdatasync (and
// an fsync of wal/ when entries changed) covers everything that can be made
// durable now.
Result<Wal::PendingSync> Wal::begin_sync() {
  if (failed_) return failed_status();
  if (Status status = maybe_write_held(); !status.ok()) return status;
  PendingSync pending;
  const bool holding = !held_.empty();
  pending.end = holding ? segments_[segments_.size() - held_.size()].first : next_index_;
  pending.appended = holding ? held_.front().ready_at : appended_bytes_;
  pending.dir_changes = dir_changes_;
  auto jobs = std::make_unique<SyncJobs>();
  if (pending.appended > synced_bytes_) {
    const Segment& file = segments_[segments_.size() - held_.size() - 1];
    auto job = disk_->begin_sync(file.name);
    if (!job.ok()) return fail(job.status());
    jobs->add(std::move(job.value()));
    pending.point =
        DurablePoint{file.first, holding ? held_.front().previous_bytes : open_segment_bytes_};
  }
  if (dir_unsynced()) {
    auto job = disk_->begin_sync_dir(wal_dir);
    if (!job.ok()) return fail(job.status());
    jobs->add(std::move(job.value()));
  }
  if (!jobs->empty()) pending.job = std::move(jobs);
  SYNOD_ASSERT(pending.job != nullptr || durable_end_ >= pending.end || holding);
  return pending;
}

Status Wal::finish_sync(const PendingSync& sync, const Status& ran) {
  if (failed_) return failed_status();
  if (!ran.ok()) return fail(ran);
  SYNOD_ASSERT(sync.end <= next_index_ && sync.appended <= appended_bytes_);
  durable_end_ = std::max(durable_end_, sync.end);
  synced_bytes_ = std::max(synced_bytes_, sync.appended);
  if (sync.point) durable_point_ = std::max(durable_point_, *sync.point);
  dir_synced_changes_ = std::max(dir_synced_changes_, sync.dir_changes);
  return Status{};
}

Status roll_back_to(Disk& disk, DurablePoint point) {
  auto files = disk.list(wal_dir);
  if (!files.ok()) return files.status();
  for (const std::string& file : files.value()) {
    const auto first = parse_segment_file(file);
    if (!first || *first <= point.segment) continue;
    if (Status status = disk.remove(segment_name(*first)); !status.ok()) return status;
  }
  const std::string name = segment_name(point.segment);
  if (auto size = disk.size(name); size.ok() && size.value() > point.bytes) {
    if (Status status = disk.truncate(name, point.bytes); !status.ok()) return status;
    if (Status status = disk.sync(name); !status.ok()) return status;
  }
  return disk.sync_dir(wal_dir);
}

// The removals become durable with the next sync (rule O covers a crash
// before it).
Status Wal::truncate_prefix(RecordIndex keep_from) {
  if (failed_) return failed_status();
  SYNOD_ASSERT_MSG(keep_from <= next_index_, "cannot drop records that were never appended");
  return remove_obsolete(keep_from, nullptr, false);
}

}  // namespace synod::wal
