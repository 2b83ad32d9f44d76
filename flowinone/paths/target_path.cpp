#include "flowinone/paths/target_path.h"

#include "flowinone/core/errors.h"

namespace fi {

TargetPath::TargetPath(double sigma_min) : sigma_min_(sigma_min) {
  check_arg(sigma_min >= 0.0 && sigma_min < 1.0, "[TargetPath] sigma_min must be in [0, 1), got ",
            sigma_min);
}

PathSample TargetPath::sample(const torch::Tensor& x0, const torch::Tensor& x1,
                              const torch::Tensor& t, at::Generator& generator) const {
  check_path_inputs("TargetPath::sample", x0, x1, t);
  const torch::Tensor tb = expand_time_like(t, x0);
  const double shrink = 1.0 - sigma_min_;
  const torch::Tensor xt = tb * x1 + (1.0 - shrink * tb) * x0;
  return {t, xt, x1 - shrink * x0};
}

}  // namespace fi
