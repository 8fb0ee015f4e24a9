// SyncGate: the votes that wait for their writes to become durable, and how
// far the disk has got. It is the replica's half of consensus/output.h step 3
// ("when everything up to persist_token is durable: send
// send_after_persist") and of consensus/README.md §2: a vote leaves only
// after what it claims is on disk.
//
// ## Tokens
// The core issues one persist token per non-empty persist batch (1, 2, ...,
// consensus::Output::persist_token). The gate tracks three:
//   written      the last batch the replica wrote to storage (wrote())
//   durable      the last batch a finished sync covered (made_durable())
//   sync_wanted  the last written batch that waits for durability: promises,
//                accepted entries and snapshots. A batch holding only a
//                chosen mark is a hint and waits for nothing; the next sync
//                covers it.
// Always durable <= written and sync_wanted <= written. A token 0 means
// "nothing yet".
//
// ## Votes
// A vote batch (Output::send_after_persist) claims everything written up to
// its token, so its token is at most `written`. hold() passes it straight to
// `send` when that token is already durable, and otherwise keeps it; kept
// batches leave in the order they were held, as soon as made_durable()
// reaches their token. Batches of one token are kept together, so at most
// `written - durable` batches wait.
//
// ## Outside the ranges
// A written token that does not increase, a vote claiming a token not yet
// written, or durability beyond what was written is a bug in the caller:
// assertion. A sync that finishes after a later one covered it is normal
// (group commit with a sync thread): made_durable() returns false and
// changes nothing.
//
// Deterministic, single-threaded, no I/O: the replica runs the sync itself.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

#include "consensus/message.h"

namespace synod::replica {

class SyncGate {
 public:
  using Votes = std::vector<consensus::Envelope>;

  // Batch `token` was written to storage. `needs_sync`: it holds something
  // that must become durable (not only a chosen mark). Asserts `token`
  // exceeds the last written one.
  void wrote(std::uint64_t token, bool needs_sync);

  // Votes that may leave once batch `token` is durable: appended to `send`
  // now if it is, kept otherwise. Asserts token <= written_token() and, while
  // votes are kept, that `token` is not below the last kept batch's (the
  // core's tokens never go back).
  void hold(std::uint64_t token, Votes votes, Votes& send);

  // A sync that began when `token` was the last written batch has finished.
  // Appends to `send`, in the order held, every vote batch it releases, and
  // returns true; false when an earlier call already covered `token`
  // (nothing changes). Asserts token <= written_token().
  [[nodiscard]] bool made_durable(std::uint64_t token, Votes& send);

  // Whether anything written waits for durability: a batch that needs a
  // sync, or a vote batch not yet released.
  [[nodiscard]] bool wants_sync() const;

  [[nodiscard]] std::uint64_t written_token() const { return written_token_; }
  [[nodiscard]] std::uint64_t durable_token() const { return durable_token_; }
  // Vote batches kept, at most written_token() - durable_token().
  [[nodiscard]] std::size_t batches_waiting() const { return waiting_.size(); }

  // Asserts the orderings above: tokens, and kept batches in increasing
  // token, each above durable and at most written. O(batches waiting).
  void check_invariants() const;

 private:
  struct Waiting {
    std::uint64_t token = 0;
    Votes votes;
  };

  std::deque<Waiting> waiting_;  // increasing token, each in (durable, written]
  std::uint64_t written_token_ = 0;
  std::uint64_t durable_token_ = 0;
  std::uint64_t sync_wanted_token_ = 0;
};

}  // namespace synod::replica
