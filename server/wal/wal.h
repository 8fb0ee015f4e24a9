// Wal: the write-ahead log over a Disk. The format, the order of writes and
// every crash window with its recovery rule are in segment.h.
//
// Use (the replica, through the runtime's fsync thread):
//
//   auto opened = Wal::open(disk, options, snapshot_wal_index_min);
//   // opened.records: the records still needed, in index order
//   Wal& wal = opened.value().wal;
//   auto first = wal.append(payloads);   // buffered, volatile; returns the
//                                        // index of payloads[0]
//   wal.sync();                          // one sync covers every append so
//                                        // far (group commit); only now may
//                                        // the records be acknowledged
//   wal.truncate_prefix(index);          // after a snapshot covering every
//                                        // record below `index` is durable
//
// Not thread-safe: one caller at a time. After a failed write or sync the
// Wal refuses every further call with Code::failed: the state of unsynced
// bytes is then unknown (an fsync error is not retryable). The owner drops
// it, cuts wal/ back to durable_point() (roll_back_to, below) and recovers,
// as a restart would, without trusting any byte written after that point.
//
// No fsync on the caller's path while appending (segment.h W3): a rotation
// whose full segment still has unsynced bytes keeps the next segments'
// bytes in memory ("held", counted as unsynced) until the sync that covers
// the full segment has finished; the next append() or begin_sync() then
// writes them, and the sync after that covers them and the directory entry.
// Removing obsolete segments (truncate_prefix) is made durable by the next
// sync's job too. So begin_sync()'s job is the only fsync of a running Wal.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "server/wal/disk.h"
#include "server/wal/segment.h"
#include "server/wal/status.h"

namespace synod::wal {

struct WalOptions {
  // A record that would take the open segment past this size starts a new
  // segment (unless the segment has no record yet). Range:
  // [segment_bytes_max_min, segment_bytes_max_limit].
  std::uint64_t segment_bytes_max = 64u << 20;
  // append() refuses a batch that would leave more than this many bytes
  // appended but unsynced. Bounds the memory a crash may tear and the work
  // rule T's scan may do. Range: [unsynced_bytes_max_min, unsynced_bytes_max_limit].
  std::uint64_t unsynced_bytes_max = 64u << 20;
};

inline constexpr std::uint64_t segment_bytes_max_min =
    segment_header_bytes + record_bytes_on_disk(1);
inline constexpr std::uint64_t segment_bytes_max_limit = 1u << 30;
// One record of the largest size can always be appended.
inline constexpr std::uint64_t unsynced_bytes_max_min = record_bytes_on_disk(record_bytes_max);
inline constexpr std::uint64_t unsynced_bytes_max_limit = 1u << 30;

static_assert(segment_bytes_max_min < segment_bytes_max_limit);
static_assert(unsynced_bytes_max_min <= WalOptions{}.unsynced_bytes_max);
static_assert(WalOptions{}.unsynced_bytes_max <= unsynced_bytes_max_limit);
static_assert(WalOptions{}.segment_bytes_max >= segment_bytes_max_min);
static_assert(WalOptions{}.segment_bytes_max <= segment_bytes_max_limit);

// True when every option is inside its range.
[[nodiscard]] bool is_valid(const WalOptions& options);

// Where the durable prefix of the log ends: the first `bytes` of the
// segment that starts at `segment` (its header included). Every byte of
// every earlier segment is durable too; nothing after the point may be.
struct DurablePoint {
  RecordIndex segment{1};
  std::uint64_t bytes = 0;
  friend auto operator<=>(const DurablePoint&, const DurablePoint&) = default;
};

// After a disk error, before recovering: removes every segment that starts
// after point.segment, cuts that segment back to point.bytes when it is
// longer, and makes both durable (sync, sync_dir). So recovery then reads
// only what a sync confirmed, never bytes a failed write or a failed fsync
// left in the page cache (a later fsync may report success for pages whose
// write-back failed). `point` is Wal::durable_point() of the failed Wal, or
// a later point a sync that began before the failure confirmed. Io errors
// are returned; the caller tries again later.
[[nodiscard]] Status roll_back_to(Disk& disk, DurablePoint point);

class Wal {
 public:
  struct Opened;

  // Recovers wal/ (segment.h rules T, H, O, D), makes every repair durable
  // and returns the Wal ready to append, the records with index >= keep_from
  // in order, and one note per repair. keep_from is the newest snapshot's
  // wal_index_min (RecordIndex{1} when there is no snapshot); records below
  // it are obsolete. An empty wal/ gets its first segment, starting at
  // keep_from. If the log ends before keep_from (its unsynced tail was lost
  // after the snapshot was written), a new segment starts at keep_from so
  // indices never repeat. Code::corrupt names the file and offset; options
  // must be valid.
  [[nodiscard]] static Result<Opened> open(Disk& disk, const WalOptions& options,
                                           RecordIndex keep_from);

  // Appends records, each 1..record_bytes_max bytes, in order; returns the
  // index of the first. Volatile until sync(). Code::too_large (nothing
  // written) if a payload exceeds record_bytes_max or the batch would exceed
  // unsynced_bytes_max. May rotate segments, which syncs the full one. An
  // empty payload or an empty batch is a broken invariant.
  [[nodiscard]] Result<RecordIndex> append(std::span<const std::string_view> payloads);
  [[nodiscard]] Result<RecordIndex> append(std::string_view payload);

  // Makes every appended record durable: afterwards durable_end() ==
  // next_index(). A no-op when nothing is unsynced. The same as
  // begin_sync(), running its job, then finish_sync(), once more for each
  // held segment.
  [[nodiscard]] Status sync();

  // Group commit off the owner's thread. begin_sync() fixes what the sync
  // covers (every record appended so far) and hands back the Disk's SyncJob
  // to run on any thread; finish_sync() takes its result back on the owner's
  // thread. Appends (and rotations) may go on in between: they wait for the
  // next sync. Syncs may overlap (a final sync() while a job runs): each
  // finish only ever moves durable_end() forward. A failed run fails the Wal
  // as a failed sync() does.
  struct PendingSync {
    std::unique_ptr<SyncJob> job;  // null when nothing was unsynced
    RecordIndex end;               // records below it are durable after the job
    std::uint64_t appended = 0;    // bytes it makes durable (from the start)
    std::uint64_t dir_changes = 0;  // wal/ changes it makes durable
    // Where the durable prefix ends once the job ran, when it syncs a
    // segment's bytes (nullopt: it syncs none).
    std::optional<DurablePoint> point;

    // Runs the job, on any thread; nothing to do is success.
    [[nodiscard]] Status run() const { return job ? job->run() : Status{}; }
  };
  [[nodiscard]] Result<PendingSync> begin_sync();
  [[nodiscard]] Status finish_sync(const PendingSync& sync, const Status& ran);

  // The caller no longer needs records below keep_from (a durable snapshot
  // covers them): removes every closed segment whose records all lie below
  // it; the next sync makes the removals durable (rule O covers a crash
  // before it). Never removes the open segment (nor a held one or the one it
  // waits on), so records
  // below keep_from may still come back from open(), which filters them.
  // keep_from <= next_index(). To let recovery fall back to an older
  // snapshot, pass that snapshot's wal_index_min, not the newest one's.
  [[nodiscard]] Status truncate_prefix(RecordIndex keep_from);

  // The index the next appended record will get.
  [[nodiscard]] RecordIndex next_index() const { return next_index_; }
  // Every record below this index is durable.
  [[nodiscard]] RecordIndex durable_end() const { return durable_end_; }
  // Where the bytes a finished sync confirmed end (roll_back_to). Moves
  // only forward; still answered after the Wal failed.
  [[nodiscard]] DurablePoint durable_point() const { return durable_point_; }
  // The first index of the oldest segment still on disk.
  [[nodiscard]] RecordIndex first_index() const;
  [[nodiscard]] std::uint64_t unsynced_bytes() const { return appended_bytes_ - synced_bytes_; }
  // Bytes append() still takes before the next sync (unsynced_bytes_max
  // minus unsynced_bytes()).
  [[nodiscard]] std::uint64_t unsynced_room() const {
    return options_.unsynced_bytes_max - unsynced_bytes();
  }
  [[nodiscard]] std::size_t segment_count() const { return segments_.size(); }

 private:
  struct Segment {
    RecordIndex first;
    std::string name;
  };

  Wal(Disk& disk, const WalOptions& options) : disk_(&disk), options_(options) {}

  // A segment whose file does not exist yet: its records wait in memory
  // until every byte before it (up to ready_at) is durable.
  struct Held {
    std::uint64_t ready_at = 0;  // appended_bytes_ where the segment before it ends
    std::string records;         // its records' bytes (the header is written first)
    std::uint64_t previous_bytes = 0;  // the length of the segment before it
  };

  [[nodiscard]] Status check_batch(std::span<const std::string_view> payloads) const;
  [[nodiscard]] Status flush(std::string& buffer);
  [[nodiscard]] Status rotate();
  [[nodiscard]] Status start_segment_unsynced(RecordIndex first);
  [[nodiscard]] Status maybe_write_held();
  [[nodiscard]] bool dir_unsynced() const { return dir_changes_ > dir_synced_changes_; }
  [[nodiscard]] Status start_segment(RecordIndex first);
  [[nodiscard]] Status fail(Status status);
  [[nodiscard]] Status recover(RecordIndex keep_from, Opened& out);
  [[nodiscard]] Status list_segments(std::vector<std::string>& notes);
  [[nodiscard]] Status remove_obsolete(RecordIndex keep_from, std::vector<std::string>* notes,
                                       bool make_durable);
  [[nodiscard]] Status check_sequence(std::size_t position, RecordIndex expected,
                                      RecordIndex keep_from) const;
  [[nodiscard]] Status scan_all(RecordIndex keep_from, Opened& out);
  [[nodiscard]] Status remove_interrupted_rotation(std::uint64_t file_bytes,
                                                   std::vector<std::string>& notes);
  [[nodiscard]] Status truncate_torn_tail(const SegmentScan& scan, std::uint64_t file_bytes,
                                          std::vector<std::string>& notes);

  Disk* disk_;
  WalOptions options_;
  // Oldest first; the last one is open for appends. Never empty once open.
  std::vector<Segment> segments_;
  std::uint64_t open_segment_bytes_ = 0;
  RecordIndex next_index_{1};
  RecordIndex durable_end_{1};
  std::uint64_t appended_bytes_ = 0;  // since open, held bytes included
  std::uint64_t synced_bytes_ = 0;    // of those, durable
  // The last held_.size() segments' bytes, oldest first (see the top).
  std::deque<Held> held_;
  std::uint64_t dir_changes_ = 0;         // creates and removes in wal/ since open
  std::uint64_t dir_synced_changes_ = 0;  // of those, durable
  DurablePoint durable_point_;
  bool failed_ = false;
};

struct Wal::Opened {
  Wal wal;
  std::vector<Record> records;
  std::vector<std::string> notes;
};

}  // namespace synod::wal
