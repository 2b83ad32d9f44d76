// IDX files (the MNIST family's format), plain or gzip-compressed.
//
// Layout: two zero bytes, a type code, the number of dimensions d, then d big-endian uint32
// sizes, then the elements in row-major order, big-endian. Type codes: 0x08 uint8, 0x09 int8,
// 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64.
//
// The file is hostile until proven otherwise: the magic, type, dimension count and sizes are
// checked, and the element count is bounded (by `max_elements` and by what the file can hold:
// its size when plain, 1032 times its size when gzip'd, deflate's best ratio) before anything is
// allocated; a short or over-long body is an error too. Every error is a fi::FileError naming the
// file. Reading is through zlib, which reads plain files as they are.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <string>

namespace fi {

/// The largest element count read_idx accepts by default (2^31, 2 GiB of uint8).
constexpr std::int64_t kMaxIdxElements = std::int64_t(1) << 31;

/// Reads an IDX file (gzip'd or plain, recognised by its first bytes) into a CPU tensor of the
/// file's shape and type (uint8, int8, int16, int32, float32 or float64). Throws FileError.
torch::Tensor read_idx(const std::string& path, std::int64_t max_elements = kMaxIdxElements);

}  // namespace fi
