// Additive coupling (NICE, Dinh et al. 2015): with a binary mask m (1 = passed through),
//   z = m * x + (1 - m) * (x + t(m * x, cond)),   log|det dz/dx| = 0.
// Volume-preserving: a flow of additive couplings needs a diagonal scaling (ActNorm) to change
// the volume at all.
#pragma once

#include "flowinone/flows/bijector.h"
#include "flowinone/flows/coupling_network.h"

namespace fi {

class AdditiveCoupling : public Bijector {
 public:
  explicit AdditiveCoupling(const CouplingLayerOptions& options);
  BijectorOutput forward(const torch::Tensor& x, const torch::Tensor& cond) override;
  torch::Tensor inverse(const torch::Tensor& z, const torch::Tensor& cond) override;
  std::string kind() const override { return "additive_coupling"; }

 private:
  torch::Tensor shift(const torch::Tensor& passed, const torch::Tensor& cond);
  CouplingLayerOptions options_;
  torch::Tensor mask_;  // (1, ...) buffer, 1 = passed through
  std::shared_ptr<Conditioner> network_;
};

}  // namespace fi
