// Uniform dequantization of 8-bit images, the first layer of an image flow.
//
// Input convention (PixelEncoding): the data loader's float images, holding integer levels
// k in {0..255} as x = k / 127.5 - 1 in [-1, 1] (kSymmetric, the image pipeline's convention) or
// x = k / 255 in [0, 1] (kUnit). forward recovers k (rounding), draws u ~ U[0, 1) and returns
//   y = (k + u) / 256  in [0, 1),   logdet = -D * log(256)   (D = C * H * W).
// Why that logdet: k + u is a continuous variable on the 8-bit scale [0, 256)^D, whose density p
// satisfies log P(k) >= E_u[log p(k + u)] (Theis et al. 2016; Ho et al. 2019). Dividing by 256
// is the change of variables k + u -> y, so log_prob of the flow is the log-density on the
// 8-bit scale, and -log_prob / (D ln 2) is bits/dim of the discrete data with no further
// correction (bits_per_dim.h). inverse(y) = the encoding of floor(256 y), so
// inverse(forward(x)) == x for valid pixel values.
//
// Noise: drawn on the CPU from the layer's generator (seeded at construction, or one the caller
// shares with set_generator, e.g. the trainer's data generator so that resume is exact), then
// moved to x's device.
#pragma once

#include <ATen/core/Generator.h>

#include <cstdint>
#include <string>

#include "flowinone/flows/bijector.h"

namespace fi {

enum class PixelEncoding { kSymmetric, kUnit };
/// "symmetric" ([-1, 1]) or "unit" ([0, 1]); throws std::invalid_argument listing the names.
PixelEncoding parse_pixel_encoding(const std::string& name);
std::string to_string(PixelEncoding encoding);

class Dequantize : public Bijector {
 public:
  explicit Dequantize(PixelEncoding encoding = PixelEncoding::kSymmetric, std::uint64_t seed = 0);
  BijectorOutput forward(const torch::Tensor& x, const torch::Tensor& cond) override;
  torch::Tensor inverse(const torch::Tensor& y, const torch::Tensor& cond) override;
  std::string kind() const override { return "dequantize"; }
  /// Draws from `generator` (a shared handle: draws advance the caller's state too).
  void set_generator(at::Generator generator) { generator_ = std::move(generator); }
  PixelEncoding encoding() const { return encoding_; }

 private:
  PixelEncoding encoding_;
  at::Generator generator_;
};

}  // namespace fi
