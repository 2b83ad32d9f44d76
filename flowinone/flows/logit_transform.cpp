#include "flowinone/flows/logit_transform.h"

#include <cmath>

#include "flowinone/core/errors.h"

namespace fi {

LogitTransform::LogitTransform(double alpha) : alpha_(alpha) {
  check_arg(alpha >= 0 && alpha < 0.5, "[LogitTransform] alpha must be in [0, 0.5), got ", alpha);
}

BijectorOutput LogitTransform::forward(const torch::Tensor& y, const torch::Tensor& cond) {
  const torch::Tensor s = alpha_ + (1.0 - 2.0 * alpha_) * y;
  const torch::Tensor log_s = torch::log(s);
  const torch::Tensor log_one_minus_s = torch::log1p(-s);
  const torch::Tensor logdet =
      (std::log(1.0 - 2.0 * alpha_) - log_s - log_one_minus_s).flatten(1).sum(1);
  return {log_s - log_one_minus_s, logdet};
}

torch::Tensor LogitTransform::inverse(const torch::Tensor& z, const torch::Tensor& cond) {
  return (torch::sigmoid(z) - alpha_) / (1.0 - 2.0 * alpha_);
}

}  // namespace fi
