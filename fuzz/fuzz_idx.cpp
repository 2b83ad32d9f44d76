// IDX files (data/idx_file.h), plain or gzip'd, without LibTorch: read_idx_file takes a path, so
// each input is written to a file in $TMPDIR first (a file per process) and read back through zlib
// as the program would.
#include <unistd.h>

#include <cstdio>
#include <vector>

#include "flowinone/data/idx_file.h"
#include "fuzz_common.h"

namespace {

const std::string& scratch_path() {
  static const std::string path = [] {
    const char* dir = std::getenv("TMPDIR");
    return std::string(dir != nullptr ? dir : "/tmp") + "/fuzz_idx_" + std::to_string(::getpid());
  }();
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string& path = scratch_path();
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) std::abort();
  if (size > 0 && std::fwrite(data, 1, size, file) != size) std::abort();
  std::fclose(file);
  fi::fuzz::expect_clean_refusal([&] {
    // A small cap on elements, so that the fuzzer explores formats rather than allocations.
    constexpr std::int64_t kCap = std::int64_t(1) << 24;
    std::vector<unsigned char> elements;
    const fi::IdxHeader header = fi::read_idx_file(path, kCap, [&](const fi::IdxHeader& declared) {
      if (declared.num_elements > kCap) std::abort();
      elements.resize(std::size_t(declared.num_elements) * declared.element_size);
      return elements.data();
    });
    std::int64_t product = 1;
    for (std::int64_t extent : header.shape) product *= extent;
    if (product != header.num_elements) std::abort();
  });
  std::remove(path.c_str());
  return 0;
}
