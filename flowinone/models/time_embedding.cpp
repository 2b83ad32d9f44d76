#include "flowinone/models/time_embedding.h"

#include <cmath>

#include "flowinone/core/errors.h"

namespace fi {

torch::Tensor sinusoidal_time_embedding(const torch::Tensor& t, int dim, double max_period) {
  check_arg(dim >= 2 && dim % 2 == 0, "[sinusoidal_time_embedding] dim must be even and >= 2, got ",
            dim);
  check_arg(t.dim() == 1, "[sinusoidal_time_embedding] t must be (B), got ", t.sizes());
  const int half = dim / 2;
  const auto options = torch::TensorOptions().dtype(torch::kFloat32).device(t.device());
  const torch::Tensor frequencies =
      torch::exp(-std::log(max_period) * torch::arange(half, options) / half);
  const torch::Tensor angles = (1000.0 * t.to(torch::kFloat32)).unsqueeze(1) * frequencies;
  return torch::cat({torch::cos(angles), torch::sin(angles)}, 1);
}

}  // namespace fi
