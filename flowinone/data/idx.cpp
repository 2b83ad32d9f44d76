// An IDX file's elements read straight into a tensor's memory (no copy).
#include "flowinone/data/idx.h"

#include <ATen/ATen.h>

namespace fi {
namespace {

at::ScalarType tensor_type(IdxElement element) {
  switch (element) {
    case IdxElement::kU8:
      return at::kByte;
    case IdxElement::kI8:
      return at::kChar;
    case IdxElement::kI16:
      return at::kShort;
    case IdxElement::kI32:
      return at::kInt;
    case IdxElement::kF32:
      return at::kFloat;
    case IdxElement::kF64:
      return at::kDouble;
  }
  throw std::logic_error("[read_idx] an element type without a tensor type");
}

}  // namespace

torch::Tensor read_idx(const std::string& path, std::int64_t max_elements) {
  at::Tensor out;
  read_idx_file(path, max_elements, [&](const IdxHeader& header) {
    out = at::empty(header.shape, at::TensorOptions().dtype(tensor_type(header.element)));
    return static_cast<unsigned char*>(out.data_ptr());
  });
  return out;
}

}  // namespace fi
