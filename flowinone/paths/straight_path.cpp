#include "flowinone/paths/straight_path.h"

#include "flowinone/core/errors.h"

namespace fi {

StraightPath::StraightPath(double sigma) : sigma_(sigma) {
  check_arg(sigma >= 0.0, "[StraightPath] sigma must be >= 0, got ", sigma);
}

PathSample StraightPath::sample(const torch::Tensor& x0, const torch::Tensor& x1,
                                const torch::Tensor& t, at::Generator& generator) const {
  check_path_inputs("StraightPath::sample", x0, x1, t);
  const torch::Tensor tb = expand_time_like(t, x0);
  torch::Tensor xt = x0 + tb * (x1 - x0);
  if (sigma_ > 0.0) xt = xt + sigma_ * path_noise(x0, generator);
  return {t, xt, x1 - x0};
}

}  // namespace fi
