#include "flowinone/flows/dequantize.h"

#include <cmath>

#include "flowinone/core/named_values.h"
#include "flowinone/core/random.h"

namespace fi {

namespace {
constexpr NamedValue<PixelEncoding> kEncodingNames[] = {{PixelEncoding::kSymmetric, "symmetric"},
                                                        {PixelEncoding::kUnit, "unit"}};
}  // namespace

PixelEncoding parse_pixel_encoding(const std::string& name) {
  return parse_named(kEncodingNames, name, "pixel encoding");
}

std::string to_string(PixelEncoding encoding) { return name_of(kEncodingNames, encoding); }

Dequantize::Dequantize(PixelEncoding encoding, std::uint64_t seed)
    : encoding_(encoding), generator_(make_generator(seed)) {}

BijectorOutput Dequantize::forward(const torch::Tensor& x, const torch::Tensor& cond) {
  const torch::Tensor levels =
      encoding_ == PixelEncoding::kSymmetric ? (x + 1.0) * 127.5 : x * 255.0;
  const torch::Tensor k = torch::round(levels).clamp(0.0, 255.0);
  const torch::Tensor u =
      torch::rand(x.sizes(), generator_, torch::TensorOptions().dtype(x.dtype())).to(x.device());
  const std::int64_t dims = x[0].numel();
  const torch::Tensor logdet =
      torch::full({x.size(0)}, -static_cast<double>(dims) * std::log(256.0), x.options());
  return {(k + u) / 256.0, logdet};
}

torch::Tensor Dequantize::inverse(const torch::Tensor& y, const torch::Tensor& cond) {
  const torch::Tensor k = torch::floor(y * 256.0).clamp(0.0, 255.0);
  return encoding_ == PixelEncoding::kSymmetric ? k / 127.5 - 1.0 : k / 255.0;
}

}  // namespace fi
