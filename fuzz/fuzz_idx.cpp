// IDX files (data/idx.h), plain or gzip'd: read_idx takes a path, so each input is written to a
// file in $TMPDIR first (a file per process) and read back through zlib as the program would.
#include <unistd.h>

#include <cstdio>

#include "flowinone/data/idx.h"
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
    const torch::Tensor tensor = fi::read_idx(path, std::int64_t(1) << 24);
    if (tensor.numel() > (std::int64_t(1) << 24)) std::abort();
  });
  std::remove(path.c_str());
  return 0;
}
