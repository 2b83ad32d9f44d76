#include "flowinone/models/x1_prediction.h"

#include "flowinone/core/errors.h"
#include "flowinone/paths/path.h"

namespace fi {

X1PredictionVelocity::X1PredictionVelocity(VelocityModelPtr net, double floor)
    : net_(std::move(net)), floor_(floor) {
  check_arg(net_ != nullptr, "[X1PredictionVelocity] net must not be null");
  check_arg(floor > 0 && floor <= 1, "[X1PredictionVelocity] floor must be in (0, 1], got ", floor);
  register_module("net", net_);
}

torch::Tensor X1PredictionVelocity::to_velocity(const torch::Tensor& x1_hat, const torch::Tensor& x,
                                                const torch::Tensor& t) const {
  check_arg(t.dim() == 1 && t.size(0) == x.size(0), "[X1PredictionVelocity] t must be (", x.size(0),
            "), got ", t.sizes());
  return (x1_hat - x) / expand_time_like((1.0 - t).clamp_min(floor_), x1_hat);
}

torch::Tensor X1PredictionVelocity::forward(const torch::Tensor& x, const torch::Tensor& t) {
  return to_velocity(net_->forward(x, t), x, t);
}

torch::Tensor X1PredictionVelocity::forward(const torch::Tensor& x, const torch::Tensor& t,
                                            const Conditioning& cond) {
  return to_velocity(net_->forward(x, t, cond), x, t);
}

}  // namespace fi
