// IDX files as tensors: data/idx_file.h reads and checks them; this gives the tensor.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <string>

#include "flowinone/data/idx_file.h"

namespace fi {

/// Reads an IDX file (gzip'd or plain, recognised by its first bytes) into a CPU tensor of the
/// file's shape and type (uint8, int8, int16, int32, float32 or float64). Throws FileError.
torch::Tensor read_idx(const std::string& path, std::int64_t max_elements = kMaxIdxElements);

}  // namespace fi
