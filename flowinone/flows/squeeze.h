// Squeeze (RealNVP): each 2x2 block of pixels becomes 4 channels,
//   (B, C, H, W) -> (B, 4C, H/2, W/2),   log|det| = 0 (a permutation of the entries).
// Channel 4c + 2i + j of the output holds input channel c at offset (i, j) of each block, so a
// channel mask after a squeeze splits every block the same way.
#pragma once

#include "flowinone/flows/bijector.h"

namespace fi {

class Squeeze : public Bijector {
 public:
  Squeeze() = default;
  BijectorOutput forward(const torch::Tensor& x, const torch::Tensor& cond) override;
  torch::Tensor inverse(const torch::Tensor& z, const torch::Tensor& cond) override;
  std::string kind() const override { return "squeeze"; }
  /// (C, H, W) -> (4C, H/2, W/2); throws std::invalid_argument for odd H or W.
  std::vector<std::int64_t> output_shape(const std::vector<std::int64_t>& input) const override;
};

}  // namespace fi
