// BoundedQueue<T>: a FIFO with a fixed capacity, chosen at construction.
// "A limit on everything" (STYLE.md habit 6): push() on a full queue returns
// false and leaves the queue unchanged; the caller decides what that means
// (refuse the request, close the connection), never unbounded growth.
//
// Storage follows what is queued, not the capacity: a connection's queue may
// allow thousands of items while it almost always holds a few, and a server
// holds thousands of connections, so reserving the capacity up front would
// cost memory for nothing. T needs no default constructor.
#pragma once

#include <cstddef>
#include <deque>
#include <optional>
#include <utility>

#include "base/assert.h"

namespace synod::base {

template <class T>
class BoundedQueue {
 public:
  explicit BoundedQueue(std::size_t capacity) : capacity_(capacity) { SYNOD_ASSERT(capacity > 0); }

  [[nodiscard]] bool push(T value) {
    if (full()) return false;
    items_.push_back(std::move(value));
    return true;
  }

  // Removes and returns the oldest element; empty when there is none.
  std::optional<T> pop() {
    if (items_.empty()) return std::nullopt;
    T value = std::move(items_.front());
    items_.pop_front();
    return value;
  }

  [[nodiscard]] T& front() {
    SYNOD_ASSERT(!items_.empty());
    return items_.front();
  }
  [[nodiscard]] const T& front() const {
    SYNOD_ASSERT(!items_.empty());
    return items_.front();
  }

  // Drops every element; the capacity stays.
  void clear() { items_.clear(); }

  [[nodiscard]] std::size_t size() const { return items_.size(); }
  [[nodiscard]] std::size_t capacity() const { return capacity_; }
  [[nodiscard]] bool empty() const { return items_.empty(); }
  [[nodiscard]] bool full() const { return items_.size() == capacity_; }

 private:
  std::size_t capacity_;
  std::deque<T> items_;
};

}  // namespace synod::base
