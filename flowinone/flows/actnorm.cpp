#include "flowinone/flows/actnorm.h"

#include "flowinone/core/errors.h"

namespace fi {

ActNorm::ActNorm(std::int64_t num_features) : num_features_(num_features) {
  check_arg(num_features >= 1, "[ActNorm] num_features must be >= 1, got ", num_features);
  bias_ = register_parameter("bias", torch::zeros({num_features}));
  log_scale_ = register_parameter("log_scale", torch::zeros({num_features}));
  initialized_ = register_buffer("initialized", torch::zeros({1}));
}

bool ActNorm::initialized() const {
  // Once seen set, the flag stays set: later calls skip the device synchronization of item().
  if (!known_initialized_) known_initialized_ = initialized_.item<double>() > 0.5;
  return known_initialized_;
}

std::pair<torch::Tensor, torch::Tensor> ActNorm::broadcast_parameters(
    const torch::Tensor& x) const {
  check_arg((x.dim() == 2 || x.dim() == 4) && x.size(1) == num_features_,
            "[ActNorm] x must be (B, ", num_features_, ") or (B, ", num_features_, ", H, W), got ",
            x.sizes());
  if (x.dim() == 2) return {bias_.view({1, -1}), log_scale_.view({1, -1})};
  return {bias_.view({1, -1, 1, 1}), log_scale_.view({1, -1, 1, 1})};
}

void ActNorm::initialize(const torch::Tensor& x) {
  broadcast_parameters(x);  // checks the shape
  torch::NoGradGuard no_grad;
  // Features to the front, everything else (batch, space) flattened: statistics per feature.
  const torch::Tensor per_feature = x.transpose(0, 1).reshape({num_features_, -1});
  const torch::Tensor mean = per_feature.mean(1);
  // The biased std, so the batch comes out with variance exactly 1.
  const torch::Tensor std = (per_feature - mean.unsqueeze(1)).pow(2).mean(1).sqrt();
  bias_.copy_(-mean);
  log_scale_.copy_(-torch::log(std + 1e-6));
  initialized_.fill_(1.0);
  known_initialized_ = true;
}

BijectorOutput ActNorm::forward(const torch::Tensor& x, const torch::Tensor& cond) {
  if (!initialized()) initialize(x);
  const auto [bias, log_scale] = broadcast_parameters(x);
  const std::int64_t positions = x.dim() == 4 ? x.size(2) * x.size(3) : 1;
  const torch::Tensor z = (x + bias) * torch::exp(log_scale);
  return {z, (log_scale_.sum() * positions).expand({x.size(0)})};
}

torch::Tensor ActNorm::inverse(const torch::Tensor& z, const torch::Tensor& cond) {
  const auto [bias, log_scale] = broadcast_parameters(z);
  return z * torch::exp(-log_scale) - bias;
}

}  // namespace fi
