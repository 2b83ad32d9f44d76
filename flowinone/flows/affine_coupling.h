// Affine coupling (RealNVP, Dinh et al. 2017), optionally conditional. With a binary mask m
// (1 = passed through) and (s_raw, t) = network(m * x, cond):
//   s = soft_clamp(s_raw, scale_bound) * (1 - m)
//   z = m * x + (1 - m) * (x * exp(s) + t),   log|det dz/dx| = sum(s).
// The scale is bounded (coupling_network.h) so a single layer can neither overflow nor collapse.
// Conditional affine coupling: options.condition gives the networks a class embedding or an
// image concatenated on channels (condition.h); the change of variables is the same.
#pragma once

#include "flowinone/flows/bijector.h"
#include "flowinone/flows/coupling_network.h"

namespace fi {

class AffineCoupling : public Bijector {
 public:
  explicit AffineCoupling(const CouplingLayerOptions& options);
  BijectorOutput forward(const torch::Tensor& x, const torch::Tensor& cond) override;
  torch::Tensor inverse(const torch::Tensor& z, const torch::Tensor& cond) override;
  std::string kind() const override {
    return options_.condition.kind == ConditionKind::kNone ? "affine_coupling"
                                                           : "conditional_affine_coupling";
  }
  const CouplingLayerOptions& options() const { return options_; }

 private:
  /// The log-scale s and shift t, both zero where the mask passes x through.
  std::pair<torch::Tensor, torch::Tensor> scale_and_shift(const torch::Tensor& passed,
                                                          const torch::Tensor& cond);
  CouplingLayerOptions options_;
  torch::Tensor mask_;  // (1, ...) buffer
  std::shared_ptr<Conditioner> network_;
};

}  // namespace fi
