// Output: everything the core asks of its owner, in one batch (STYLE.md
// habit 1). The owner (server/replica, the simulator) handles a batch in this
// order and nothing cleverer:
//
//   1. write `persist` (in field order) and start making it durable;
//   2. send `send_now` at once;
//   3. when everything up to `persist_token` is durable: send
//      `send_after_persist`, then call Core::on_persisted(persist_token);
//   4. install `install_snapshot` into the state machine, then apply `chosen`
//      in order. Applying may happen before step 3 completes: a chosen value
//      is a fact of the ensemble, not of this disk.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "consensus/message.h"
#include "consensus/types.h"

namespace synod::consensus {

// Durable writes, in the order they must reach the disk. Records in later
// batches overwrite earlier ones for the same slot.
struct PersistBatch {
  std::optional<Ballot> promised;       // first: a promise precedes anything it allows
  std::optional<Snapshot> snapshot;     // an installed snapshot; drops the log <= its slot
  std::vector<AcceptedRecord> accepted; // then accepted values, in order
  std::optional<Slot> chosen;           // last: a hint; losing it only costs re-learning

  [[nodiscard]] bool empty() const {
    return !promised && !snapshot && accepted.empty() && !chosen;
  }
};

struct ChosenEntry {
  Slot slot;
  Entry entry;
};

// The result of a read-index request made through Core::read_index.
struct ReadReady {
  std::uint64_t id = 0;
  bool ok = false;  // false: no leader could confirm it; the read may retry
  Slot index;       // ok: serve the read once everything up to it is applied
};

struct Output {
  PersistBatch persist;
  // The token of the last persist batch issued, this one included. Messages
  // in `send_after_persist` may claim anything written up to it.
  std::uint64_t persist_token = 0;
  // May leave before `persist` is durable: requests (Prepare, Accept), never
  // votes. (README §2: "a vote leaves only after it is durable".)
  std::vector<Envelope> send_now;
  // Votes and acknowledgements: leave only after persist_token is durable.
  std::vector<Envelope> send_after_persist;
  // A snapshot received from the leader. It is also in `persist.snapshot`.
  // Load it into the state machine before applying `chosen`.
  std::optional<Snapshot> install_snapshot;
  // Newly chosen entries in slot order, continuing exactly after the last
  // slot handed out before (or after install_snapshot->slot).
  std::vector<ChosenEntry> chosen;
  // Leader only: client writes followers forwarded; stamp and propose them.
  std::vector<Entry> forwarded;
  // Leader only: sessions followers reported active.
  std::vector<std::uint64_t> touched;
  // Read-index results for this replica's own requests, in request order.
  std::vector<ReadReady> reads;
  // Transitions as sentences, for the owner's log.
  std::vector<std::string> notes;

  [[nodiscard]] bool empty() const {
    return persist.empty() && send_now.empty() && send_after_persist.empty() &&
           !install_snapshot && chosen.empty() && forwarded.empty() && touched.empty() &&
           reads.empty() && notes.empty();
  }
};

}  // namespace synod::consensus
