// Path: a validated, absolute node path. Parsed once at the edge (the codec
// or the test), then trusted everywhere inside the store.
//
// Valid paths: "/" (the root), or "/" followed by one or more components
// separated by single '/'. A component is non-empty, is not "." or "..", and
// holds no '/' and no control byte (0x00-0x1F, 0x7F). Other bytes, including
// UTF-8 sequences, are kept as they are; names compare bytewise. The whole
// path is at most path_bytes_max bytes. Anything else is BAD_ARGUMENTS, with
// the reason in the message. (ZooKeeper additionally reserves "/zookeeper";
// Synod reserves nothing.)
#pragma once

#include <compare>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/error.h"

namespace synod::protocol {

inline constexpr std::size_t path_bytes_max = 4096;
// A sequential create appends this many decimal digits (ZooKeeper's %010d).
inline constexpr std::size_t sequence_suffix_bytes = 10;
static_assert(path_bytes_max > sequence_suffix_bytes + 2,
              "a sequential node directly under the root must fit in a path");

// Why `name` is not a valid component, or an empty view if it is one.
[[nodiscard]] std::string_view component_problem(std::string_view name);

class Path {
 public:
  // Validates `text` against the rules above. Never asserts on bad input.
  [[nodiscard]] static Result<Path> parse(std::string_view text);
  [[nodiscard]] static Path root() { return Path("/"); }

  [[nodiscard]] const std::string& text() const { return text_; }
  [[nodiscard]] bool is_root() const { return text_.size() == 1; }
  // The last component; "" for the root.
  [[nodiscard]] std::string_view name() const;
  // The path without its last component. Asserts !is_root().
  [[nodiscard]] Path parent() const;
  // This path with one more component. Asserts component_problem(name) is
  // empty; returns BAD_ARGUMENTS if the result would exceed path_bytes_max.
  [[nodiscard]] Result<Path> child(std::string_view name) const;
  // The components in order; empty for the root. Views into text().
  [[nodiscard]] std::vector<std::string_view> components() const;
  // True when `other` is this path or lies below it.
  [[nodiscard]] bool contains(const Path& other) const;

  friend auto operator<=>(const Path&, const Path&) = default;
  friend bool operator==(const Path&, const Path&) = default;

 private:
  explicit Path(std::string text) : text_(std::move(text)) {}
  std::string text_;
};

}  // namespace synod::protocol
