#include "protocol/path.h"

namespace synod::protocol {

std::string_view component_problem(std::string_view name) {
  if (name.empty()) return "an empty component (\"//\" or a trailing '/')";
  if (name == "." || name == "..") return "a \".\" or \"..\" component";
  for (char c : name) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte == '/') return "a '/' inside a component";
    if (byte == 0) return "a NUL byte";
    if (byte < 0x20 || byte == 0x7F) return "a control character";
  }
  return {};
}

Result<Path> Path::parse(std::string_view text) {
  if (text.empty()) return error_status(Error::BAD_ARGUMENTS, "path is empty");
  if (text.size() > path_bytes_max) {
    return error_status(Error::BAD_ARGUMENTS, "path is " + std::to_string(text.size()) +
                                                  " bytes, above path_bytes_max " +
                                                  std::to_string(path_bytes_max));
  }
  if (text.front() != '/') {
    return error_status(Error::BAD_ARGUMENTS, "path does not start with '/'");
  }
  if (text.size() == 1) return Path("/");
  std::size_t start = 1;
  for (;;) {
    const std::size_t slash = text.find('/', start);
    const std::size_t end = slash == std::string_view::npos ? text.size() : slash;
    const std::string_view problem = component_problem(text.substr(start, end - start));
    if (!problem.empty()) {
      return error_status(Error::BAD_ARGUMENTS,
                          "path has " + std::string(problem) + " at byte " + std::to_string(start));
    }
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return Path(std::string(text));
}

std::string_view Path::name() const {
  if (is_root()) return {};
  return std::string_view(text_).substr(text_.rfind('/') + 1);
}

Path Path::parent() const {
  SYNOD_ASSERT_MSG(!is_root(), "the root has no parent");
  const std::size_t slash = text_.rfind('/');
  return slash == 0 ? root() : Path(text_.substr(0, slash));
}

Result<Path> Path::child(std::string_view name) const {
  SYNOD_ASSERT(component_problem(name).empty());
  const std::size_t size = text_.size() + (is_root() ? 0 : 1) + name.size();
  if (size > path_bytes_max) {
    return error_status(Error::BAD_ARGUMENTS, "path would be " + std::to_string(size) +
                                                  " bytes, above path_bytes_max " +
                                                  std::to_string(path_bytes_max));
  }
  std::string text = text_;
  if (!is_root()) text.push_back('/');
  text.append(name);
  return Path(std::move(text));
}

std::vector<std::string_view> Path::components() const {
  std::vector<std::string_view> out;
  if (is_root()) return out;
  const std::string_view view(text_);
  std::size_t start = 1;
  for (;;) {
    const std::size_t slash = view.find('/', start);
    if (slash == std::string_view::npos) {
      out.push_back(view.substr(start));
      return out;
    }
    out.push_back(view.substr(start, slash - start));
    start = slash + 1;
  }
}

bool Path::contains(const Path& other) const {
  if (is_root()) return true;
  if (other.text_.size() < text_.size()) return false;
  if (other.text_.compare(0, text_.size(), text_) != 0) return false;
  return other.text_.size() == text_.size() || other.text_[text_.size()] == '/';
}

}  // namespace synod::protocol
