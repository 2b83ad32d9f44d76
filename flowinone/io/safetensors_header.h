// The safetensors format without tensors: bytes to a validated description of what they hold,
// and such a description back to a header. No LibTorch here, so the parser of hostile files is
// small enough to fuzz for millions of inputs (fuzz/fuzz_safetensors_header.cpp); io/safetensors.h
// turns the description into tensors.
//
// Layout: 8 bytes little-endian header length N, N bytes of JSON header
//   {"__metadata__": {"key": "string", ...}, "name": {"dtype": "F32", "shape": [..],
//    "data_offsets": [begin, end]}, ...}
// then the raw little-endian tensor bytes; offsets are relative to the end of the header.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace fi {

enum class SafetensorsDtype { kF64, kF32, kF16, kBF16, kI64, kI32, kI16, kI8, kU8, kBool };

/// "F32", "BF16", ... as the format spells them.
const char* safetensors_dtype_name(SafetensorsDtype dtype);

/// Bytes per element.
std::uint64_t safetensors_dtype_size(SafetensorsDtype dtype);

/// Every dtype's name, comma-separated, for messages.
std::string safetensors_dtype_names();

/// One tensor of a file: `begin` and `end` are byte offsets into the data section.
struct SafetensorsEntry {
  std::string name;
  SafetensorsDtype dtype = SafetensorsDtype::kF32;
  std::vector<std::int64_t> shape;
  std::uint64_t begin = 0;
  std::uint64_t end = 0;
};

struct SafetensorsHeader {
  std::vector<SafetensorsEntry> entries;        // sorted by name
  std::map<std::string, std::string> metadata;  // the "__metadata__" entries
  std::uint64_t data_offset = 0;                // where the data section starts in the bytes
};

/// Parses and checks the header of safetensors bytes, treating them as hostile: the header
/// length, the JSON, every dtype, shape (its byte count fits an int64) and offset range (inside
/// the data, no overlap, size matching dtype x shape), and the bytes of BOOL tensors (0 or 1).
/// Throws FileError whose message starts with `where` (e.g. "[load_safetensors] PATH: ").
SafetensorsHeader parse_safetensors_header(const std::string& bytes, const std::string& where);

/// The 8-byte length and the JSON header (padded with spaces to a multiple of 8) for `entries`
/// with their offsets as given, and string metadata. Throws std::invalid_argument on a duplicate
/// or reserved name.
std::string encode_safetensors_header(const std::vector<SafetensorsEntry>& entries,
                                      const std::map<std::string, std::string>& metadata);

}  // namespace fi
