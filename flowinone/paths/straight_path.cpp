#include "flowinone/paths/straight_path.h"

#include "flowinone/core/errors.h"

namespace fi {

StraightPath::StraightPath(double sigma) : sigma_(sigma) {
  check_arg(sigma >= 0.0, "[StraightPath] sigma must be >= 0, got ", sigma);
}

PathSample StraightPath::sample(const torch::Tensor& x0, const torch::Tensor& x1,
                                const torch::Tensor& t, at::Generator& generator) const {
  check_arg(x0.sizes() == x1.sizes(), "[StraightPath::sample] x0 ", x0.sizes(), " and x1 ",
            x1.sizes(), " differ in shape");
  check_arg(t.dim() == 1 && t.size(0) == x0.size(0), "[StraightPath::sample] t must be (B) with B = ",
            x0.size(0), ", got ", t.sizes());
  const torch::Tensor tb = expand_time_like(t, x0);
  torch::Tensor xt = x0 + tb * (x1 - x0);
  if (sigma_ > 0.0) {
    // Noise drawn on the CPU from the seeded generator, so CPU and CUDA runs agree.
    torch::Tensor eps = torch::randn(x0.sizes(), generator, torch::dtype(x0.scalar_type()));
    xt = xt + sigma_ * eps.to(x0.device());
  }
  return {t, xt, x1 - x0};
}

}  // namespace fi
