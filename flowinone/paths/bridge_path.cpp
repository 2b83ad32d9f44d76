#include "flowinone/paths/bridge_path.h"

#include "flowinone/core/errors.h"

namespace fi {

namespace {
// Keeps the velocity's noise coefficient (1 - 2t) / (2 sqrt(t (1 - t))) finite: at most ~158.
constexpr double kTimeClamp = 1e-5;
}  // namespace

BridgePath::BridgePath(double sigma) : sigma_(sigma) {
  check_arg(sigma > 0.0, "[BridgePath] bridge path needs sigma > 0, got ", sigma);
}

PathSample BridgePath::sample(const torch::Tensor& x0, const torch::Tensor& x1,
                              const torch::Tensor& t, at::Generator& generator) const {
  check_path_inputs("BridgePath::sample", x0, x1, t);
  const torch::Tensor tb = expand_time_like(t, x0);
  const torch::Tensor eps = path_noise(x0, generator);
  // Rounding can leave t (1 - t) a hair below zero near the ends; the std is zero there.
  const torch::Tensor std_t = sigma_ * torch::sqrt(torch::clamp_min(tb * (1.0 - tb), 0.0));
  const torch::Tensor xt = x0 + tb * (x1 - x0) + std_t * eps;
  const torch::Tensor tc = torch::clamp(tb, kTimeClamp, 1.0 - kTimeClamp);
  const torch::Tensor noise_rate = (1.0 - 2.0 * tc) / (2.0 * torch::sqrt(tc * (1.0 - tc)));
  const torch::Tensor ut = noise_rate * (sigma_ * eps) + (x1 - x0);
  return {t, xt, ut};
}

}  // namespace fi
