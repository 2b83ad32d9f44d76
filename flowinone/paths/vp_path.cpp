#include "flowinone/paths/vp_path.h"

#include <cmath>

#include "flowinone/core/errors.h"

namespace fi {

VpPath::VpPath(double sigma) : sigma_(sigma) {
  check_arg(sigma >= 0.0, "[VpPath] sigma must be >= 0, got ", sigma);
}

PathSample VpPath::sample(const torch::Tensor& x0, const torch::Tensor& x1, const torch::Tensor& t,
                          at::Generator& generator) const {
  check_path_inputs("VpPath::sample", x0, x1, t);
  const double half_pi = M_PI / 2.0;
  const torch::Tensor angle = half_pi * expand_time_like(t, x0);
  const torch::Tensor cos_t = torch::cos(angle), sin_t = torch::sin(angle);
  torch::Tensor xt = cos_t * x0 + sin_t * x1;
  if (sigma_ > 0.0) xt = xt + sigma_ * path_noise(x0, generator);
  const torch::Tensor ut = half_pi * (cos_t * x1 - sin_t * x0);
  return {t, xt, ut};
}

}  // namespace fi
