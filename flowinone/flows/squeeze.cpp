#include "flowinone/flows/squeeze.h"

#include "flowinone/core/errors.h"

namespace fi {

std::vector<std::int64_t> Squeeze::output_shape(const std::vector<std::int64_t>& input) const {
  check_arg(input.size() == 3 && input[1] % 2 == 0 && input[2] % 2 == 0,
            "[Squeeze] needs a (C, H, W) shape with even H and W, got ", torch::IntArrayRef(input));
  return {4 * input[0], input[1] / 2, input[2] / 2};
}

BijectorOutput Squeeze::forward(const torch::Tensor& x, const torch::Tensor& cond) {
  check_arg(x.dim() == 4, "[Squeeze] x must be (B, C, H, W), got ", x.sizes());
  output_shape({x.size(1), x.size(2), x.size(3)});
  const std::int64_t b = x.size(0), c = x.size(1), h = x.size(2) / 2, w = x.size(3) / 2;
  // (B, C, h, 2, w, 2) -> (B, C, 2, 2, h, w): the block offsets become channels.
  const torch::Tensor z =
      x.reshape({b, c, h, 2, w, 2}).permute({0, 1, 3, 5, 2, 4}).reshape({b, 4 * c, h, w});
  return {z, zero_logdet(x)};
}

torch::Tensor Squeeze::inverse(const torch::Tensor& z, const torch::Tensor& cond) {
  check_arg(z.dim() == 4 && z.size(1) % 4 == 0, "[Squeeze] z must be (B, 4C, H, W), got ",
            z.sizes());
  const std::int64_t b = z.size(0), c = z.size(1) / 4, h = z.size(2), w = z.size(3);
  return z.reshape({b, c, 2, 2, h, w}).permute({0, 1, 4, 2, 5, 3}).reshape({b, c, 2 * h, 2 * w});
}

}  // namespace fi
