// The safetensors format (https://github.com/huggingface/safetensors), read and written as
// tensors. The header's layout and its checks are in io/safetensors_header.h (no LibTorch there).
// PyTorch users read our checkpoints with `safetensors.torch.load_file`.
#pragma once

#include <torch/types.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace fi {

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

struct SafetensorsContents {
  std::map<std::string, torch::Tensor> tensors;  // CPU, contiguous
  std::map<std::string, std::string> metadata;   // the "__metadata__" entries
};

/// Serializes tensors (any device; copied to CPU) and string metadata to bytes.
/// Supported dtypes: F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL. Names must be unique.
std::string encode_safetensors(const NamedTensors& tensors,
                               const std::map<std::string, std::string>& metadata = {});

/// Writes encode_safetensors(...) to `path` atomically.
void save_safetensors(const std::string& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata = {});

/// Parses bytes in the safetensors format. Treats them as hostile: checks the header length,
/// the JSON, every dtype, shape and offset range (inside the data, no overlap, size matching
/// dtype x shape) before allocating. Throws FileError with `source` (a path) in the message.
SafetensorsContents decode_safetensors(const std::string& bytes, const std::string& source);

/// Reads and decodes a file.
SafetensorsContents load_safetensors(const std::string& path);

}  // namespace fi
