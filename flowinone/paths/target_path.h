// The optimal-transport conditional path of Lipman et al. 2023 ("Flow Matching for Generative
// Modeling", eq. 20-23), from a standard Gaussian source x0 ~ N(0, I) to a data point x1:
//   x_t = t x1 + (1 - (1 - sigma_min) t) x0
//   u_t = x1 - (1 - sigma_min) x0
// At t = 1 the conditional distribution is N(x1, sigma_min^2 I) rather than a point. The formula
// assumes x0 is unit Gaussian noise (it rescales x0 into the data's noise), so the path is only
// valid with the "gaussian" source: see check_path_source. sigma_min = 0 gives the straight path.
#pragma once

#include "flowinone/paths/path.h"

namespace fi {

class TargetPath : public ProbabilityPath {
 public:
  /// sigma_min in [0, 1).
  explicit TargetPath(double sigma_min = 1e-4);
  PathSample sample(const torch::Tensor& x0, const torch::Tensor& x1, const torch::Tensor& t,
                    at::Generator& generator) const override;
  std::string name() const override { return "target"; }
  double sigma_min() const { return sigma_min_; }

 private:
  double sigma_min_;
};

}  // namespace fi
