// safetensors bytes -> tensors and metadata (io/safetensors.h): the header, every dtype, shape
// and offset, then the tensor bytes. Round trip: what decodes must encode and decode the same.
#include <torch/types.h>

#include "flowinone/io/safetensors.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string bytes = fi::fuzz::as_string(data, size);
  fi::fuzz::expect_clean_refusal([&] {
    const fi::SafetensorsContents contents = fi::decode_safetensors(bytes, "fuzz.safetensors");
    fi::NamedTensors tensors(contents.tensors.begin(), contents.tensors.end());
    const fi::SafetensorsContents again =
        fi::decode_safetensors(fi::encode_safetensors(tensors, contents.metadata), "again");
    if (again.tensors.size() != contents.tensors.size() || again.metadata != contents.metadata)
      std::abort();
    for (const auto& [name, tensor] : contents.tensors) {
      const torch::Tensor& other = again.tensors.at(name);
      if (other.sizes() != tensor.sizes() || other.scalar_type() != tensor.scalar_type())
        std::abort();
    }
  });
  return 0;
}
