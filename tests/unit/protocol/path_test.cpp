#include "protocol/path.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "base/prng.h"

using namespace synod;
using namespace synod::protocol;

namespace {

// The naive twin: split on every '/', then judge each piece.
struct NaiveVerdict {
  bool valid = false;
  std::vector<std::string> components;
};

NaiveVerdict naive_parse(const std::string& text) {
  NaiveVerdict verdict;
  if (text.empty() || text[0] != '/' || text.size() > path_bytes_max) return verdict;
  if (text == "/") {
    verdict.valid = true;
    return verdict;
  }
  std::string piece;
  std::vector<std::string> pieces;
  for (std::size_t i = 1; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == '/') {
      pieces.push_back(piece);
      piece.clear();
    } else {
      piece += text[i];
    }
  }
  for (const std::string& p : pieces) {
    if (p.empty() || p == "." || p == "..") return verdict;
    for (char c : p) {
      const auto byte = static_cast<unsigned char>(c);
      if (byte < 0x20 || byte == 0x7F) return verdict;
    }
  }
  verdict.valid = true;
  verdict.components = pieces;
  return verdict;
}

}  // namespace

TEST_CASE("path: valid paths parse, with their components, name and parent") {
  const Result<Path> root = Path::parse("/");
  REQUIRE(root.ok());
  CHECK(root.value().is_root());
  CHECK(root.value().components().empty());
  CHECK(root.value().name().empty());

  const Result<Path> deep = Path::parse("/app/locks/lock-0000000001");
  REQUIRE(deep.ok());
  CHECK(deep.value().text() == "/app/locks/lock-0000000001");
  CHECK(deep.value().components() ==
        std::vector<std::string_view>{"app", "locks", "lock-0000000001"});
  CHECK(deep.value().name() == "lock-0000000001");
  CHECK(deep.value().parent().text() == "/app/locks");
  CHECK(deep.value().parent().parent().parent().is_root());
  CHECK(Path::parse("/...").ok());
  CHECK(Path::parse("/.a/b.").ok());
  CHECK(Path::parse("/caf\xc3\xa9").ok());
}

TEST_CASE("path: invalid paths are BAD_ARGUMENTS with the reason in the message") {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "empty"},
      {"a/b", "start with '/'"},
      {"//", "empty component"},
      {"/a//b", "empty component"},
      {"/a/", "trailing"},
      {"/a/./b", "\".\""},
      {"/..", "\"..\""},
      {std::string("/a\0b", 4), "NUL"},
      {"/a\nb", "control"},
  };
  for (const auto& [text, reason] : cases) {
    CAPTURE(text);
    const Result<Path> parsed = Path::parse(text);
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.error() == Error::BAD_ARGUMENTS);
    CHECK(parsed.status().message.find(reason) != std::string::npos);
  }
}

TEST_CASE("path: the length limit is path_bytes_max bytes, inclusive") {
  std::string at_limit = "/" + std::string(path_bytes_max - 1, 'x');
  CHECK(Path::parse(at_limit).ok());
  const Result<Path> over = Path::parse(at_limit + "y");
  REQUIRE_FALSE(over.ok());
  CHECK(over.status().message.find("path_bytes_max") != std::string::npos);
  // child() enforces the same bound.
  const Result<Path> near = Path::parse("/" + std::string(path_bytes_max - 3, 'x'));
  REQUIRE(near.ok());
  CHECK(near.value().child("y").ok());
  CHECK_FALSE(near.value().child("yz").ok());
  CHECK(Path::root().child("a").value().text() == "/a");
}

TEST_CASE("path: contains() holds for the path itself and its descendants only") {
  const Path a = Path::parse("/a").value();
  CHECK(a.contains(Path::parse("/a").value()));
  CHECK(a.contains(Path::parse("/a/b").value()));
  CHECK_FALSE(a.contains(Path::parse("/ab").value()));
  CHECK_FALSE(a.contains(Path::root()));
  CHECK(Path::root().contains(a));
}

TEST_CASE("path: parse agrees with a naive splitter on random strings") {
  base::Prng prng(2024);
  const char alphabet[] = {'/', '/', '/', 'a', 'b', '.', '.', '\0', '\x01', '\x7f', '\xc3'};
  std::size_t valid_seen = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string text;
    const auto size = prng.below(10);
    for (std::uint64_t j = 0; j < size; ++j) text += alphabet[prng.below(sizeof alphabet)];
    if (prng.chance_permille(500)) text.insert(text.begin(), '/');
    CAPTURE(text);
    const NaiveVerdict want = naive_parse(text);
    const Result<Path> got = Path::parse(text);
    REQUIRE(got.ok() == want.valid);
    if (!got.ok()) {
      CHECK(got.error() == Error::BAD_ARGUMENTS);
      CHECK_FALSE(got.status().message.empty());
      continue;
    }
    ++valid_seen;
    const auto components = got.value().components();
    REQUIRE(components.size() == want.components.size());
    for (std::size_t j = 0; j < components.size(); ++j) CHECK(components[j] == want.components[j]);
    if (!got.value().is_root()) {
      CHECK(got.value().name() == want.components.back());
      CHECK(got.value().parent().components().size() + 1 == components.size());
    }
  }
  CHECK(valid_seen > 1000);
}
