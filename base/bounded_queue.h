// BoundedQueue<T>: a FIFO ring with a fixed capacity, chosen at construction.
// "A limit on everything" (STYLE.md habit 6): push() on a full queue returns
// false and leaves the queue unchanged; the caller decides what that means
// (refuse the request, close the connection), never unbounded growth.
#pragma once

#include <cstddef>
#include <optional>
#include <utility>
#include <vector>

#include "base/assert.h"

namespace synod::base {

template <class T>
class BoundedQueue {
 public:
  explicit BoundedQueue(std::size_t capacity) : slots_(capacity) { SYNOD_ASSERT(capacity > 0); }

  [[nodiscard]] bool push(T value) {
    if (size_ == slots_.size()) return false;
    slots_[(head_ + size_) % slots_.size()] = std::move(value);
    ++size_;
    return true;
  }

  // Removes and returns the oldest element; empty when there is none.
  std::optional<T> pop() {
    if (size_ == 0) return std::nullopt;
    T value = std::move(slots_[head_]);
    head_ = (head_ + 1) % slots_.size();
    --size_;
    return value;
  }

  [[nodiscard]] T& front() {
    SYNOD_ASSERT(size_ > 0);
    return slots_[head_];
  }

  [[nodiscard]] std::size_t size() const { return size_; }
  [[nodiscard]] std::size_t capacity() const { return slots_.size(); }
  [[nodiscard]] bool empty() const { return size_ == 0; }
  [[nodiscard]] bool full() const { return size_ == slots_.size(); }

 private:
  std::vector<T> slots_;
  std::size_t head_ = 0;
  std::size_t size_ = 0;
};

}  // namespace synod::base
