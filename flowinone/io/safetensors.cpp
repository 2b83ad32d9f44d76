// safetensors encode/decode as tensors. The header is parsed and checked in full
// (io/safetensors_header.h) before any tensor is allocated, so a hostile file fails with a
// FileError, not a crash or a huge allocation. Tensor bytes are little-endian, as on every host we
// build for.
#include "flowinone/io/safetensors.h"

#include <cstdint>
#include <cstring>

#include "flowinone/core/atomic_file.h"
#include "flowinone/core/errors.h"
#include "flowinone/io/safetensors_header.h"

namespace fi {
namespace {

struct DtypePair {
  SafetensorsDtype file;
  torch::ScalarType tensor;
};

constexpr DtypePair kDtypes[] = {
    {SafetensorsDtype::kF64, torch::kFloat64}, {SafetensorsDtype::kF32, torch::kFloat32},
    {SafetensorsDtype::kF16, torch::kFloat16}, {SafetensorsDtype::kBF16, torch::kBFloat16},
    {SafetensorsDtype::kI64, torch::kInt64},   {SafetensorsDtype::kI32, torch::kInt32},
    {SafetensorsDtype::kI16, torch::kInt16},   {SafetensorsDtype::kI8, torch::kInt8},
    {SafetensorsDtype::kU8, torch::kUInt8},    {SafetensorsDtype::kBool, torch::kBool},
};

torch::ScalarType tensor_type(SafetensorsDtype dtype) {
  for (const DtypePair& pair : kDtypes) {
    if (pair.file == dtype) return pair.tensor;
  }
  throw std::logic_error("[safetensors] a dtype without a tensor type");
}

const DtypePair* find_dtype(torch::ScalarType type) {
  for (const DtypePair& pair : kDtypes) {
    if (pair.tensor == type) return &pair;
  }
  return nullptr;
}

bool host_is_little_endian() {
  const std::uint16_t probe = 1;
  std::uint8_t first = 0;
  std::memcpy(&first, &probe, 1);
  return first == 1;
}

SafetensorsContents decode(const std::string& bytes, const std::string& source, const char* op) {
  const std::string where = std::string("[") + op + "] " + source + ": ";
  check_file(host_is_little_endian(), where, "big-endian hosts are not supported");
  SafetensorsHeader header = parse_safetensors_header(bytes, where);
  const char* data = bytes.data() + header.data_offset;
  SafetensorsContents contents;
  for (const SafetensorsEntry& entry : header.entries) {
    torch::Tensor tensor =
        torch::empty(entry.shape, torch::TensorOptions().dtype(tensor_type(entry.dtype)));
    if (entry.end > entry.begin) {
      std::memcpy(tensor.data_ptr(), data + entry.begin, entry.end - entry.begin);
    }
    contents.tensors.emplace(entry.name, std::move(tensor));
  }
  contents.metadata = std::move(header.metadata);
  return contents;
}

}  // namespace

std::string encode_safetensors(const NamedTensors& tensors,
                               const std::map<std::string, std::string>& metadata) {
  check_arg(host_is_little_endian(), "[encode_safetensors] big-endian hosts are not supported");
  std::vector<SafetensorsEntry> entries;
  std::vector<torch::Tensor> host;
  std::uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    check_arg(tensor.defined(), "[encode_safetensors] tensor '", name, "' is undefined");
    const DtypePair* dtype = find_dtype(tensor.scalar_type());
    check_arg(dtype != nullptr, "[encode_safetensors] tensor '", name, "' has unsupported dtype ",
              tensor.scalar_type(), " (supported: ", safetensors_dtype_names(), ")");
    torch::Tensor cpu = tensor.detach().to(torch::kCPU).contiguous();
    const std::uint64_t num_bytes = std::uint64_t(cpu.numel()) * cpu.element_size();
    entries.push_back({name, dtype->file, cpu.sizes().vec(), offset, offset + num_bytes});
    offset += num_bytes;
    host.push_back(std::move(cpu));
  }
  std::string out = encode_safetensors_header(entries, metadata);  // checks the names
  out.reserve(out.size() + offset);
  for (const torch::Tensor& tensor : host) {
    const std::size_t num_bytes = std::size_t(tensor.numel()) * tensor.element_size();
    if (num_bytes > 0) out.append(static_cast<const char*>(tensor.data_ptr()), num_bytes);
  }
  return out;
}

void save_safetensors(const std::string& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata) {
  write_file_atomic(path, encode_safetensors(tensors, metadata));
}

SafetensorsContents decode_safetensors(const std::string& bytes, const std::string& source) {
  return decode(bytes, source, "decode_safetensors");
}

SafetensorsContents load_safetensors(const std::string& path) {
  return decode(read_file(path), path, "load_safetensors");
}

}  // namespace fi
