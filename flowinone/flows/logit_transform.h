// Logit transform of RealNVP: y in [0, 1) (dequantized pixels) to the real line,
//   s = alpha + (1 - 2 alpha) y,   z = log(s) - log(1 - s),
//   log|det dz/dy| = sum(log(1 - 2 alpha) - log(s) - log(1 - s)).
// alpha keeps s away from 0 and 1, where the logit and its log-determinant blow up (RealNVP
// uses 0.05 on CIFAR-10). Counted in the log-determinant, so the flow's log_prob stays a density
// of the input pixels.
#pragma once

#include "flowinone/flows/bijector.h"

namespace fi {

class LogitTransform : public Bijector {
 public:
  /// 0 <= alpha < 0.5.
  explicit LogitTransform(double alpha = 0.05);
  BijectorOutput forward(const torch::Tensor& y, const torch::Tensor& cond) override;
  torch::Tensor inverse(const torch::Tensor& z, const torch::Tensor& cond) override;
  std::string kind() const override { return "logit"; }

 private:
  double alpha_;
};

}  // namespace fi
