// A scratch directory unique to one test, removed with everything in it when the test ends.
//
// Unique names let CTest run the tests of one binary in parallel processes without collisions.
// Removal uses POSIX nftw rather than std::filesystem::remove_all: PyTorch 2.x's libtorch.so
// exports its own copy of remove_all that crashes (a call through a null pointer) in programs
// linked against it, while the other std::filesystem functions work.
#pragma once

#include <ftw.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <stdexcept>
#include <string>

namespace fi::testing {

inline void remove_tree(const std::string& path) {
  auto remove_entry = [](const char* entry, const struct stat*, int, struct FTW*) -> int {
    return std::remove(entry);
  };
  ::nftw(path.c_str(), remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

class TempDir {
 public:
  explicit TempDir(const std::string& label = "test") {
    std::string pattern = "/tmp/flowinone_" + label + "_XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr)
      throw std::runtime_error("mkdtemp failed: " + pattern);
    path_ = pattern;
  }
  ~TempDir() { remove_tree(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  /// path()/name
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace fi::testing
