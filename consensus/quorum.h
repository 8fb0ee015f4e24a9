// Pure majority math (etcd's quorum/ package, in miniature).
#pragma once

#include <cstddef>
#include <vector>

#include "base/ids.h"

namespace synod::consensus {

// The highest slot that at least `quorum` of `matches` have reached: the
// quorum-th largest value. Slot{0} when there are fewer than `quorum`
// matches. quorum >= 1. tests/unit/consensus checks it against a naive model.
[[nodiscard]] Slot quorum_slot(std::vector<Slot> matches, std::size_t quorum);

}  // namespace synod::consensus
