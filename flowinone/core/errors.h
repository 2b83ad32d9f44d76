// Errors thrown by the library.
//
// The library never prints or exits. It throws:
//   std::invalid_argument  a bad argument or option value (the caller's mistake),
//   fi::FileError          a file that cannot be read or written, or whose contents are malformed,
//   anything else          an internal failure.
// Messages start with the operation in brackets and show the bad value:
//   "[load_safetensors] runs/cb/model.safetensors: header length 812 exceeds file size 400".
// The command line maps the first two to exit status 2 and the rest to 1.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace fi {

/// A file that cannot be opened, read or written, or whose contents are malformed.
class FileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {
template <typename... Args>
std::string concat(const Args&... args) {
  std::ostringstream out;
  (out << ... << args);
  return out.str();
}
}  // namespace detail

/// Throws std::invalid_argument with the streamed message when `condition` is false.
template <typename... Args>
void check_arg(bool condition, const Args&... message) {
  if (!condition) throw std::invalid_argument(detail::concat(message...));
}

/// Throws fi::FileError with the streamed message when `condition` is false.
template <typename... Args>
void check_file(bool condition, const Args&... message) {
  if (!condition) throw FileError(detail::concat(message...));
}

}  // namespace fi
