// The safetensors header, parsed and checked before anything is allocated for its tensors, and
// written back. Values from the file reach messages only through printable().
#include "flowinone/io/safetensors_header.h"

#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "flowinone/core/errors.h"
#include "flowinone/core/printable.h"

namespace fi {
namespace {

constexpr std::uint64_t kMaxHeaderBytes = 100ull << 20;
constexpr std::size_t kMaxDims = 64;
constexpr const char* kMetadataKey = "__metadata__";

struct DtypeInfo {
  SafetensorsDtype dtype;
  const char* name;
  std::uint64_t size;
};

constexpr DtypeInfo kDtypes[] = {
    {SafetensorsDtype::kF64, "F64", 8}, {SafetensorsDtype::kF32, "F32", 4},
    {SafetensorsDtype::kF16, "F16", 2}, {SafetensorsDtype::kBF16, "BF16", 2},
    {SafetensorsDtype::kI64, "I64", 8}, {SafetensorsDtype::kI32, "I32", 4},
    {SafetensorsDtype::kI16, "I16", 2}, {SafetensorsDtype::kI8, "I8", 1},
    {SafetensorsDtype::kU8, "U8", 1},   {SafetensorsDtype::kBool, "BOOL", 1},
};

const DtypeInfo& info(SafetensorsDtype dtype) {
  for (const DtypeInfo& entry : kDtypes) {
    if (entry.dtype == dtype) return entry;
  }
  throw std::logic_error("[safetensors] a dtype missing from the table");
}

const DtypeInfo* find_dtype(const std::string& name) {
  for (const DtypeInfo& entry : kDtypes) {
    if (name == entry.name) return &entry;
  }
  return nullptr;
}

SafetensorsEntry parse_entry(const std::string& name, const nlohmann::json& value,
                             std::uint64_t data_size, const std::string& where) {
  SafetensorsEntry entry;
  entry.name = name;
  const std::string shown = printable(name);
  check_file(value.is_object(), where, "tensor '", shown, "' is not a JSON object");
  const auto dtype = value.find("dtype");
  check_file(dtype != value.end() && dtype->is_string(), where, "tensor '", shown,
             "' has no string \"dtype\"");
  const std::string dtype_name = dtype->get<std::string>();
  const DtypeInfo* dtype_info = find_dtype(dtype_name);
  check_file(dtype_info != nullptr, where, "tensor '", shown, "' has unknown dtype '",
             printable(dtype_name), "' (expected one of ", safetensors_dtype_names(), ")");
  entry.dtype = dtype_info->dtype;

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
    check_file(size == 0 || extent <= kMaxExtent / dtype_info->size / size, where, "tensor '",
               shown, "' shape ", printable(shape->dump()), " overflows the byte count");
    if (size == 0) empty = true;
    if (size != 0) extent *= size;
    entry.shape.push_back(std::int64_t(size));
  }
  const std::uint64_t num_bytes = (empty ? 0 : extent) * dtype_info->size;

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

}  // namespace

const char* safetensors_dtype_name(SafetensorsDtype dtype) { return info(dtype).name; }

std::uint64_t safetensors_dtype_size(SafetensorsDtype dtype) { return info(dtype).size; }

std::string safetensors_dtype_names() {
  std::string names;
  for (const DtypeInfo& entry : kDtypes)
    names += (names.empty() ? "" : ", ") + std::string(entry.name);
  return names;
}

SafetensorsHeader parse_safetensors_header(const std::string& bytes, const std::string& where) {
  check_file(bytes.size() >= 8, where, "file is ", bytes.size(),
             " bytes, too short for the 8-byte header length");
  std::uint64_t header_size = 0;
  for (int i = 7; i >= 0; --i) header_size = (header_size << 8) | std::uint8_t(bytes[i]);
  check_file(header_size <= bytes.size() - 8, where, "header length ", header_size,
             " exceeds the file size ", bytes.size(), " minus 8");
  check_file(header_size <= kMaxHeaderBytes, where, "header length ", header_size,
             " exceeds the limit of ", kMaxHeaderBytes);
  const char* header_begin = bytes.data() + 8;
  SafetensorsHeader header;
  header.data_offset = 8 + header_size;
  const std::uint64_t data_size = bytes.size() - header.data_offset;
  const char* data = bytes.data() + header.data_offset;

  nlohmann::json json;
  try {
    json = nlohmann::json::parse(header_begin, header_begin + header_size);
  } catch (const nlohmann::json::exception& e) {
    throw FileError(where + "header is not valid JSON: " + printable(e.what(), 300));
  }
  check_file(json.is_object(), where, "header is a JSON ", json.type_name(),
             ", expected an object");

  for (const auto& item : json.items()) {
    if (item.key() == kMetadataKey) {
      check_file(item.value().is_object(), where, "\"__metadata__\" is not an object");
      for (const auto& field : item.value().items()) {
        check_file(field.value().is_string(), where, "metadata '", printable(field.key()),
                   "' is not a string: ", printable(field.value().dump()));
        header.metadata[field.key()] = field.value().get<std::string>();
      }
      continue;
    }
    header.entries.push_back(parse_entry(item.key(), item.value(), data_size, where));
  }

  std::vector<const SafetensorsEntry*> by_offset;
  for (const SafetensorsEntry& entry : header.entries) {
    if (entry.end > entry.begin) by_offset.push_back(&entry);
  }
  std::sort(
      by_offset.begin(), by_offset.end(),
      [](const SafetensorsEntry* a, const SafetensorsEntry* b) { return a->begin < b->begin; });
  for (std::size_t i = 1; i < by_offset.size(); ++i) {
    check_file(by_offset[i - 1]->end <= by_offset[i]->begin, where, "tensors '",
               printable(by_offset[i - 1]->name), "' [", by_offset[i - 1]->begin, ", ",
               by_offset[i - 1]->end, "] and '", printable(by_offset[i]->name), "' [",
               by_offset[i]->begin, ", ", by_offset[i]->end, "] overlap");
  }

  for (const SafetensorsEntry& entry : header.entries) {
    if (entry.dtype != SafetensorsDtype::kBool) continue;
    // Any byte other than 0 or 1 would be an invalid bool inside a tensor.
    for (std::uint64_t i = entry.begin; i < entry.end; ++i) {
      check_file(std::uint8_t(data[i]) <= 1, where, "tensor '", printable(entry.name),
                 "' holds the byte ", int(std::uint8_t(data[i])), " in a BOOL tensor");
    }
  }
  return header;
}

std::string encode_safetensors_header(const std::vector<SafetensorsEntry>& entries,
                                      const std::map<std::string, std::string>& metadata) {
  std::set<std::string> names;
  nlohmann::ordered_json json = nlohmann::ordered_json::object();
  if (!metadata.empty()) {
    nlohmann::ordered_json meta = nlohmann::ordered_json::object();
    for (const auto& [key, value] : metadata) meta[key] = value;
    json[kMetadataKey] = meta;
  }
  for (const SafetensorsEntry& entry : entries) {
    check_arg(entry.name != kMetadataKey, "[encode_safetensors] tensor name '", entry.name,
              "' is reserved");
    check_arg(names.insert(entry.name).second, "[encode_safetensors] duplicate tensor name '",
              entry.name, "'");
    json[entry.name] = {{"dtype", safetensors_dtype_name(entry.dtype)},
                        {"shape", entry.shape},
                        {"data_offsets", {entry.begin, entry.end}}};
  }
  std::string text = json.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  std::string out;
  out.reserve(8 + text.size());
  const std::uint64_t header_size = text.size();
  for (int i = 0; i < 8; ++i) out.push_back(char((header_size >> (8 * i)) & 0xff));
  return out + text;
}

}  // namespace fi
