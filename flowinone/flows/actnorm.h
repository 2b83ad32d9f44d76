// ActNorm (Glow, Kingma & Dhariwal 2018): a per-feature affine map
//   z = (x + bias) * exp(log_scale),   log|det dz/dx| = (H * W) * sum(log_scale)
// over features: D for vectors (B, D), channels for images (B, C, H, W).
// Data-dependent initialization: the first forward call sets bias = -mean and
// log_scale = -log(std) from its batch, so that batch comes out with zero mean and unit variance
// per feature. The `initialized` flag is a buffer, saved with the weights, so a model loaded from
// a checkpoint is not initialized again from whatever batch it sees first.
#pragma once

#include "flowinone/flows/bijector.h"

namespace fi {

class ActNorm : public Bijector {
 public:
  explicit ActNorm(std::int64_t num_features);
  BijectorOutput forward(const torch::Tensor& x, const torch::Tensor& cond) override;
  torch::Tensor inverse(const torch::Tensor& z, const torch::Tensor& cond) override;
  std::string kind() const override { return "actnorm"; }
  bool initialized() const;
  /// Sets bias and log_scale from the batch x (B, D) or (B, C, H, W) and marks the layer
  /// initialized.
  void initialize(const torch::Tensor& x);

 private:
  /// bias and log_scale viewed to broadcast against x.
  std::pair<torch::Tensor, torch::Tensor> broadcast_parameters(const torch::Tensor& x) const;
  std::int64_t num_features_;
  torch::Tensor bias_;         // (F)
  torch::Tensor log_scale_;    // (F)
  torch::Tensor initialized_;  // (1) buffer, 1 once initialized; float so that .to(dtype) works
  mutable bool known_initialized_ = false;
};

}  // namespace fi
