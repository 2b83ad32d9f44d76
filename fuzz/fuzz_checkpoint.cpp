// A training checkpoint's bytes (train/checkpoint.h): safetensors, then the metadata's format,
// step and configuration (JSON, every key and range), then the finiteness of every tensor.
#include "flowinone/train/checkpoint.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string bytes = fi::fuzz::as_string(data, size);
  fi::fuzz::expect_clean_refusal([&] {
    const fi::CheckpointContents checkpoint = fi::decode_checkpoint(bytes, "fuzz/state");
    if (checkpoint.step < 0) std::abort();
  });
  return 0;
}
