// safetensors encode/decode. The decoder validates the whole header (dtypes, shapes, offsets)
// before it allocates any tensor, so a hostile file fails with a FileError, not a crash or a
// huge allocation. Tensor bytes are little-endian, as on every host we build for.
#include "flowinone/io/safetensors.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "flowinone/core/atomic_file.h"
#include "flowinone/core/errors.h"
#include "flowinone/core/printable.h"

namespace fi {
namespace {

constexpr std::uint64_t kMaxHeaderBytes = 100ull << 20;
constexpr std::size_t kMaxDims = 64;
constexpr const char* kMetadataKey = "__metadata__";

struct DtypeInfo {
  const char* name;
  torch::ScalarType type;
  std::uint64_t itemsize;
};

constexpr DtypeInfo kDtypes[] = {
    {"F64", torch::kFloat64, 8},   {"F32", torch::kFloat32, 4}, {"F16", torch::kFloat16, 2},
    {"BF16", torch::kBFloat16, 2}, {"I64", torch::kInt64, 8},   {"I32", torch::kInt32, 4},
    {"I16", torch::kInt16, 2},     {"I8", torch::kInt8, 1},     {"U8", torch::kUInt8, 1},
    {"BOOL", torch::kBool, 1},
};

std::string valid_dtype_names() {
  std::string names;
  for (const DtypeInfo& info : kDtypes)
    names += (names.empty() ? "" : ", ") + std::string(info.name);
  return names;
}

const DtypeInfo* find_dtype(const std::string& name) {
  for (const DtypeInfo& info : kDtypes) {
    if (name == info.name) return &info;
  }
  return nullptr;
}

const DtypeInfo* find_dtype(torch::ScalarType type) {
  for (const DtypeInfo& info : kDtypes) {
    if (type == info.type) return &info;
  }
  return nullptr;
}

bool host_is_little_endian() {
  const std::uint16_t probe = 1;
  std::uint8_t first = 0;
  std::memcpy(&first, &probe, 1);
  return first == 1;
}

// One validated header entry; `begin` and `end` are offsets into the data section.
struct Entry {
  std::string name;
  const DtypeInfo* dtype = nullptr;
  std::vector<std::int64_t> shape;
  std::uint64_t begin = 0;
  std::uint64_t end = 0;
};

Entry parse_entry(const std::string& name, const nlohmann::json& value, std::uint64_t data_size,
                  const std::string& where) {
  Entry entry;
  entry.name = name;
  // Names and values come from the file: quoted through printable() (no escape sequences).
  const std::string shown = printable(name);
  check_file(value.is_object(), where, "tensor '", shown, "' is not a JSON object");
  const auto dtype = value.find("dtype");
  check_file(dtype != value.end() && dtype->is_string(), where, "tensor '", shown,
             "' has no string \"dtype\"");
  const std::string dtype_name = dtype->get<std::string>();
  entry.dtype = find_dtype(dtype_name);
  check_file(entry.dtype != nullptr, where, "tensor '", shown, "' has unknown dtype '",
             printable(dtype_name), "' (expected one of ", valid_dtype_names(), ")");

  const auto shape = value.find("shape");
  check_file(shape != value.end() && shape->is_array(), where, "tensor '", shown,
             "' has no \"shape\" array");
  check_file(shape->size() <= kMaxDims, where, "tensor '", shown, "' has ", shape->size(),
             " dimensions, more than the ", kMaxDims, " allowed");
  // LibTorch needs the product of the non-zero sizes, in bytes, to fit an int64 even when another
  // size is 0 and the tensor is empty.
  constexpr std::uint64_t kMaxExtent = std::uint64_t(std::numeric_limits<std::int64_t>::max());
  std::uint64_t extent = 1;  // product of the non-zero sizes
  bool empty = false;
  for (const auto& dim : *shape) {
    check_file(
        dim.is_number_unsigned() || (dim.is_number_integer() && dim.get<std::int64_t>() >= 0),
        where, "tensor '", shown, "' has a bad shape entry ", printable(dim.dump()),
        " (expected a non-negative integer)");
    const std::uint64_t size = dim.get<std::uint64_t>();
    check_file(size == 0 || extent <= kMaxExtent / entry.dtype->itemsize / size, where, "tensor '",
               shown, "' shape ", printable(shape->dump()), " overflows the byte count");
    if (size == 0) empty = true;
    if (size != 0) extent *= size;
    entry.shape.push_back(std::int64_t(size));
  }
  const std::uint64_t numel = empty ? 0 : extent;
  const std::uint64_t num_bytes = numel * entry.dtype->itemsize;

  const auto offsets = value.find("data_offsets");
  check_file(offsets != value.end() && offsets->is_array() && offsets->size() == 2 &&
                 (*offsets)[0].is_number_unsigned() && (*offsets)[1].is_number_unsigned(),
             where, "tensor '", shown,
             "' needs \"data_offsets\": [begin, end] of non-negative integers, got ",
             offsets == value.end() ? std::string("nothing") : printable(offsets->dump()));
  entry.begin = (*offsets)[0].get<std::uint64_t>();
  entry.end = (*offsets)[1].get<std::uint64_t>();
  check_file(entry.begin <= entry.end && entry.end <= data_size, where, "tensor '", shown,
             "' data_offsets [", entry.begin, ", ", entry.end, "] are outside the ", data_size,
             " data bytes");
  check_file(entry.end - entry.begin == num_bytes, where, "tensor '", shown, "' data_offsets [",
             entry.begin, ", ", entry.end, "] span ", entry.end - entry.begin, " bytes but ",
             dtype_name, " ", printable(shape->dump()), " needs ", num_bytes);
  return entry;
}

SafetensorsContents decode(const std::string& bytes, const std::string& source, const char* op) {
  const std::string where = std::string("[") + op + "] " + source + ": ";
  check_file(host_is_little_endian(), where, "big-endian hosts are not supported");
  check_file(bytes.size() >= 8, where, "file is ", bytes.size(),
             " bytes, too short for the 8-byte header length");
  std::uint64_t header_size = 0;
  for (int i = 7; i >= 0; --i) header_size = (header_size << 8) | std::uint8_t(bytes[i]);
  check_file(header_size <= bytes.size() - 8, where, "header length ", header_size,
             " exceeds the file size ", bytes.size(), " minus 8");
  check_file(header_size <= kMaxHeaderBytes, where, "header length ", header_size,
             " exceeds the limit of ", kMaxHeaderBytes);
  const char* header_begin = bytes.data() + 8;
  const std::uint64_t data_size = bytes.size() - 8 - header_size;
  const char* data = header_begin + header_size;

  nlohmann::json header;
  try {
    header = nlohmann::json::parse(header_begin, header_begin + header_size);
  } catch (const nlohmann::json::exception& e) {
    throw FileError(where + "header is not valid JSON: " + printable(e.what(), 300));
  }
  check_file(header.is_object(), where, "header is a JSON ", header.type_name(),
             ", expected an object");

  SafetensorsContents contents;
  std::vector<Entry> entries;
  for (const auto& [name, value] : header.items()) {
    if (name == kMetadataKey) {
      check_file(value.is_object(), where, "\"__metadata__\" is not an object");
      for (const auto& [key, text] : value.items()) {
        check_file(text.is_string(), where, "metadata '", printable(key),
                   "' is not a string: ", printable(text.dump()));
        contents.metadata[key] = text.get<std::string>();
      }
      continue;
    }
    entries.push_back(parse_entry(name, value, data_size, where));
  }

  std::vector<const Entry*> by_offset;
  for (const Entry& entry : entries) {
    if (entry.end > entry.begin) by_offset.push_back(&entry);
  }
  std::sort(by_offset.begin(), by_offset.end(),
            [](const Entry* a, const Entry* b) { return a->begin < b->begin; });
  for (std::size_t i = 1; i < by_offset.size(); ++i) {
    check_file(by_offset[i - 1]->end <= by_offset[i]->begin, where, "tensors '",
               printable(by_offset[i - 1]->name), "' [", by_offset[i - 1]->begin, ", ",
               by_offset[i - 1]->end, "] and '", printable(by_offset[i]->name), "' [",
               by_offset[i]->begin, ", ", by_offset[i]->end, "] overlap");
  }

  for (const Entry& entry : entries) {
    if (entry.dtype->type == torch::kBool) {
      // Any byte other than 0 or 1 would be an invalid bool inside the tensor.
      for (std::uint64_t i = entry.begin; i < entry.end; ++i) {
        check_file(std::uint8_t(data[i]) <= 1, where, "tensor '", printable(entry.name),
                   "' holds the byte ", int(std::uint8_t(data[i])), " in a BOOL tensor");
      }
    }
    torch::Tensor tensor =
        torch::empty(entry.shape, torch::TensorOptions().dtype(entry.dtype->type));
    if (entry.end > entry.begin) {
      std::memcpy(tensor.data_ptr(), data + entry.begin, entry.end - entry.begin);
    }
    contents.tensors.emplace(entry.name, std::move(tensor));
  }
  return contents;
}

}  // namespace

std::string encode_safetensors(const NamedTensors& tensors,
                               const std::map<std::string, std::string>& metadata) {
  check_arg(host_is_little_endian(), "[encode_safetensors] big-endian hosts are not supported");
  std::set<std::string> names;
  std::vector<torch::Tensor> host;
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) {
    nlohmann::ordered_json meta = nlohmann::ordered_json::object();
    for (const auto& [key, value] : metadata) meta[key] = value;
    header[kMetadataKey] = meta;
  }
  std::uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    check_arg(name != kMetadataKey, "[encode_safetensors] tensor name '", name, "' is reserved");
    check_arg(names.insert(name).second, "[encode_safetensors] duplicate tensor name '", name, "'");
    check_arg(tensor.defined(), "[encode_safetensors] tensor '", name, "' is undefined");
    const DtypeInfo* dtype = find_dtype(tensor.scalar_type());
    check_arg(dtype != nullptr, "[encode_safetensors] tensor '", name, "' has unsupported dtype ",
              tensor.scalar_type(), " (supported: ", valid_dtype_names(), ")");
    torch::Tensor cpu = tensor.detach().to(torch::kCPU).contiguous();
    const std::uint64_t num_bytes = std::uint64_t(cpu.numel()) * dtype->itemsize;
    header[name] = {{"dtype", dtype->name},
                    {"shape", cpu.sizes().vec()},
                    {"data_offsets", {offset, offset + num_bytes}}};
    offset += num_bytes;
    host.push_back(std::move(cpu));
  }
  std::string json = header.dump();
  json.append((8 - json.size() % 8) % 8, ' ');

  std::string out;
  out.reserve(8 + json.size() + offset);
  const std::uint64_t header_size = json.size();
  for (int i = 0; i < 8; ++i) out.push_back(char((header_size >> (8 * i)) & 0xff));
  out += json;
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
