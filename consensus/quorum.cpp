#include "consensus/quorum.h"

#include <algorithm>
#include <functional>

#include "base/assert.h"

namespace synod::consensus {

Slot quorum_slot(std::vector<Slot> matches, std::size_t quorum) {
  SYNOD_ASSERT(quorum >= 1);
  if (matches.size() < quorum) return Slot{0};
  const auto nth = matches.begin() + static_cast<std::ptrdiff_t>(quorum - 1);
  std::nth_element(matches.begin(), nth, matches.end(), std::greater<>());
  return *nth;
}

}  // namespace synod::consensus
