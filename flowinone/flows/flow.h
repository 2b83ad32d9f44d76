// A normalizing flow: a stack of bijectors over a standard Gaussian base density,
//   log p(x | cond) = log N(z; 0, I) + sum of the layers' log|det|,   z = f(x).
// Sampling inverts the stack from z ~ N(0, T^2 I), T the temperature (Glow: T < 1 trades
// diversity for quality). Split layers (split.h) score their factored-out halves under learned
// diagonal Gaussians inside the stack, so the base stays N(0, I) over the whole flat latent.
//
// Numerical safety: forward and inverse check their result for non-finite values (one device
// synchronization); on a failure the same call is run again layer by layer without gradients to
// find the culprit, and NonFiniteError (a std::runtime_error) names it: "[flow] non-finite
// log-determinant at layer 5 (split) > 2 (affine_coupling)". The trainer adds the step.
#pragma once

#include <ATen/core/Generator.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "flowinone/flows/bijector_sequence.h"

namespace fi {

class Flow : public torch::nn::Module {
 public:
  /// event_shape is the per-sample shape of x: (D) or (C, H, W).
  Flow(std::vector<BijectorPtr> layers, std::vector<std::int64_t> event_shape);

  /// x (B, event_shape...) -> {z (B, latent_shape...), logdet (B)}.
  BijectorOutput forward(const torch::Tensor& x, const torch::Tensor& cond = {});
  /// log p(x | cond) in nats, (B). For image flows starting with Dequantize, the density on the
  /// 8-bit scale (bits_per_dim.h).
  torch::Tensor log_prob(const torch::Tensor& x, const torch::Tensor& cond = {});
  /// z (B, latent_shape...) -> x (B, event_shape...).
  torch::Tensor inverse(const torch::Tensor& z, const torch::Tensor& cond = {});
  /// n samples (n, event_shape...) without gradients, z ~ N(0, temperature^2 I) drawn on the CPU
  /// from `generator`, then moved to the flow's device. cond, if any, has batch n.
  torch::Tensor sample(std::int64_t n, double temperature, at::Generator& generator,
                       const torch::Tensor& cond = {});
  /// Runs forward once without gradients, which performs ActNorm's data-dependent
  /// initialization on this batch (call before copying the model for EMA).
  void initialize(const torch::Tensor& x, const torch::Tensor& cond = {});

  const std::vector<std::int64_t>& event_shape() const { return event_shape_; }
  const std::vector<std::int64_t>& latent_shape() const { return latent_shape_; }
  /// D: the number of dimensions of x (for bits/dim).
  std::int64_t num_dims() const { return shape_numel(event_shape_); }
  BijectorSequence& layers() { return *layers_; }
  /// Turns the non-finite check of forward and inverse on (default) or off.
  void set_check_finite(bool on) { check_finite_ = on; }
  /// Every Dequantize layer draws its noise from `generator` (a shared handle).
  void set_dequantization_generator(const at::Generator& generator);

 private:
  void check_input(const torch::Tensor& x, const std::vector<std::int64_t>& shape,
                   const char* what) const;
  /// Turns per-layer checks on in every nested sequence (or off again).
  void set_check_each_layer(bool on);
  torch::Device device() const;

  std::vector<std::int64_t> event_shape_;
  std::vector<std::int64_t> latent_shape_;
  std::shared_ptr<BijectorSequence> layers_;
  bool check_finite_ = true;
};

using FlowPtr = std::shared_ptr<Flow>;

}  // namespace fi
