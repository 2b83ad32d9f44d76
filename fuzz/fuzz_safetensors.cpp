// safetensors bytes (io/safetensors_header.h): the header length, the JSON, every dtype, shape
// and offset, the bytes of BOOL tensors; no LibTorch, so it runs fast. Round trip: a header that
// parses, written again in front of the same data, must parse to the same description. (The
// tensors made from a parsed header are fuzzed with the checkpoint and the model directory.)
#include "flowinone/io/safetensors_header.h"
#include "fuzz_common.h"

namespace {

bool same(const fi::SafetensorsEntry& a, const fi::SafetensorsEntry& b) {
  return a.name == b.name && a.dtype == b.dtype && a.shape == b.shape && a.begin == b.begin &&
         a.end == b.end;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string bytes = fi::fuzz::as_string(data, size);
  fi::fuzz::expect_clean_refusal([&] {
    const fi::SafetensorsHeader header = fi::parse_safetensors_header(bytes, "fuzz: ");
    const std::string again = fi::encode_safetensors_header(header.entries, header.metadata) +
                              bytes.substr(header.data_offset);
    const fi::SafetensorsHeader reparsed = fi::parse_safetensors_header(again, "again: ");
    if (reparsed.metadata != header.metadata || reparsed.entries.size() != header.entries.size())
      std::abort();
    for (std::size_t i = 0; i < header.entries.size(); ++i) {
      if (!same(header.entries[i], reparsed.entries[i])) std::abort();
    }
  });
  return 0;
}
