// The straight (CondOT) path with noise sigma (Tong et al. 2024, "I-CFM"):
//   x_t = (1 - t) x0 + t x1 + sigma * eps,   eps ~ N(0, I)
//   u_t = x1 - x0
// With sigma = 0 and x0 ~ N(0, I) this is rectified flow / the CondOT path of Lipman et al.
#pragma once

#include "flowinone/paths/path.h"

namespace fi {

class StraightPath : public ProbabilityPath {
 public:
  explicit StraightPath(double sigma = 0.0);
  PathSample sample(const torch::Tensor& x0, const torch::Tensor& x1, const torch::Tensor& t,
                    at::Generator& generator) const override;
  std::string name() const override { return "straight"; }
  double sigma() const { return sigma_; }

 private:
  double sigma_;
};

}  // namespace fi
