// The Schrodinger bridge path between coupled points (Tong et al. 2024, "SB-CFM"): a Brownian
// bridge with diffusion sigma pinned at x0 (t = 0) and x1 (t = 1):
//   mu_t    = (1 - t) x0 + t x1
//   sigma_t = sigma sqrt(t (1 - t))
//   x_t     = mu_t + sigma_t eps,   eps ~ N(0, I)
//   u_t     = (1 - 2t) / (2 t (1 - t)) (x_t - mu_t) + (x1 - x0)
//           = (1 - 2t) / (2 sqrt(t (1 - t))) sigma eps + (x1 - x0)
// The second form is the one computed; it is d/dt (mu_t + sigma_t eps) for a fixed eps. Its
// coefficient diverges at the ends, so t is clamped to [1e-5, 1 - 1e-5] there (only there: x_t
// uses t itself and equals x0 at t = 0 and x1 at t = 1). Paired with the entropic OT coupling
// (ot-sinkhorn with reg = 2 sigma^2) this learns the Schrodinger bridge's probability flow.
#pragma once

#include "flowinone/paths/path.h"

namespace fi {

class BridgePath : public ProbabilityPath {
 public:
  /// sigma > 0 (a bridge with no diffusion is the straight path).
  explicit BridgePath(double sigma);
  PathSample sample(const torch::Tensor& x0, const torch::Tensor& x1, const torch::Tensor& t,
                    at::Generator& generator) const override;
  std::string name() const override { return "bridge"; }
  double sigma() const { return sigma_; }

 private:
  double sigma_;
};

}  // namespace fi
