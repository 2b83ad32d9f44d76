// IDX files (the MNIST family's format), plain or gzip-compressed, read without tensors: the
// checked header, then the elements into memory the caller provides (data/idx.h makes a tensor of
// them). No LibTorch here, so the reader of hostile files is fuzzed on its own (fuzz/fuzz_idx.cpp).
//
// Layout: two zero bytes, a type code, the number of dimensions d, then d big-endian uint32
// sizes, then the elements in row-major order, big-endian.
//
// The file is hostile until proven otherwise: the magic, type, dimension count and sizes are
// checked, and the element count is bounded (by `max_elements` and by what the file can hold:
// its size when plain, 1032 times its size when gzip'd, deflate's best ratio) before anything is
// allocated; a short or over-long body is an error too. Every error is a fi::FileError naming the
// file. Reading is through zlib, which reads plain files as they are.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace fi {

/// The largest element count read_idx accepts by default (2^31, 2 GiB of uint8).
constexpr std::int64_t kMaxIdxElements = std::int64_t(1) << 31;

/// The element type codes.
enum class IdxElement : std::uint8_t {
  kU8 = 0x08,
  kI8 = 0x09,
  kI16 = 0x0B,
  kI32 = 0x0C,
  kF32 = 0x0D,
  kF64 = 0x0E
};

struct IdxHeader {
  IdxElement element = IdxElement::kU8;
  int element_size = 1;  // bytes
  std::vector<std::int64_t> shape;
  std::int64_t num_elements = 0;
};

/// Reads `path` (gzip'd or plain, recognised by its first bytes): checks the header, asks
/// `allocate` for num_elements x element_size bytes, and fills them with the elements in the
/// host's byte order. Throws FileError; `allocate` is called only for a header that passed.
IdxHeader read_idx_file(const std::string& path, std::int64_t max_elements,
                        const std::function<unsigned char*(const IdxHeader&)>& allocate);

}  // namespace fi
