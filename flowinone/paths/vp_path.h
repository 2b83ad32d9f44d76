// The trigonometric (variance-preserving) interpolant with noise sigma (Albergo and
// Vanden-Eijnden 2023; the "VP" path of the flow-matching literature):
//   x_t = cos(pi t / 2) x0 + sin(pi t / 2) x1 + sigma * eps,   eps ~ N(0, I)
//   u_t = pi / 2 (cos(pi t / 2) x1 - sin(pi t / 2) x0)
// cos^2 + sin^2 = 1, so independent unit-variance x0 and x1 give a unit-variance x_t at every t.
// Time 0 is the source x0, time 1 the data x1.
#pragma once

#include "flowinone/paths/path.h"

namespace fi {

class VpPath : public ProbabilityPath {
 public:
  explicit VpPath(double sigma = 0.0);
  PathSample sample(const torch::Tensor& x0, const torch::Tensor& x1, const torch::Tensor& t,
                    at::Generator& generator) const override;
  std::string name() const override { return "vp"; }
  double sigma() const { return sigma_; }

 private:
  double sigma_;
};

}  // namespace fi
