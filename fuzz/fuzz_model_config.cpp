// A model directory as `sample`, `eval` and the server load it (generative/model_dir.h): the
// bytes become DIR/model.safetensors, and load_model_dir checks its format, its embedded
// configuration (JSON, validated), its step, then builds the model the configuration describes
// and loads the tensors into it (names, shapes, dtypes, finiteness).
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

#include "flowinone/generative/model_dir.h"
#include "fuzz_common.h"

namespace {

const std::string& scratch_dir() {
  static const std::string dir = [] {
    const char* tmp = std::getenv("TMPDIR");
    std::string path =
        std::string(tmp != nullptr ? tmp : "/tmp") + "/fuzz_model_" + std::to_string(::getpid());
    ::mkdir(path.c_str(), 0700);
    return path;
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = scratch_dir() + "/model.safetensors";
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) std::abort();
  if (size > 0 && std::fwrite(data, 1, size, file) != size) std::abort();
  std::fclose(file);
  fi::fuzz::expect_clean_refusal([&] { fi::load_model_dir(scratch_dir(), torch::kCPU); });
  return 0;
}
