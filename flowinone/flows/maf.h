// One layer of a masked autoregressive flow (MAF, Papamakarios et al. 2017): with
// (mu, a_raw) = MADE(x) and alpha = soft_clamp(a_raw, scale_bound),
//   z_j = (x_j - mu_j(x_<j)) * exp(-alpha_j(x_<j)),   log|det dz/dx| = -sum_j alpha_j.
// The density direction (forward) is one pass; the inverse (sampling) is sequential: D passes,
// pass k fixing the k-th variable of the order. A MAF is a stack of these layers with the order
// reversed from one layer to the next (flow_builder.h), so every variable conditions the others.
#pragma once

#include "flowinone/flows/bijector.h"
#include "flowinone/flows/made.h"

namespace fi {

class MafLayer : public Bijector {
 public:
  /// made.outputs_per_dim is set to 2.
  MafLayer(MadeOptions made, double scale_bound = 3.0);
  BijectorOutput forward(const torch::Tensor& x, const torch::Tensor& cond) override;
  torch::Tensor inverse(const torch::Tensor& z, const torch::Tensor& cond) override;
  std::string kind() const override { return "maf"; }
  Made& made() { return *made_; }

 private:
  std::pair<torch::Tensor, torch::Tensor> shift_and_log_scale(const torch::Tensor& x,
                                                              const torch::Tensor& cond);
  double scale_bound_;
  std::shared_ptr<Made> made_;
};

}  // namespace fi
