// Split for the multi-scale architecture (RealNVP, Glow): x (B, C, H, W) is cut along channels
// into a kept half x1 (C - C/2 channels), which the levels below (`inner`) transform further, and
// a split-off half x2 (C/2 channels), factored out here. x2 is scored under a diagonal Gaussian
// whose mean and log-std come from x1 (and the condition) through a learned conv prior:
//   (mu, log_sigma) = prior(x1, cond),   eps = (x2 - mu) * exp(-log_sigma),
// and eps joins the latent, which the flow scores under N(0, I). Then
//   log N(x2; mu, sigma^2) = log N(eps; 0, I) - sum(log_sigma),
// so the layer's log-determinant is -sum(log_sigma) plus inner's. Sampling with a temperature
// scales eps as well, i.e. the split latents' std too (Glow). log_sigma is bounded by soft_clamp.
//
// The latent is flat: z = [flatten(inner(x1)), flatten(eps)] of shape (B, C*H*W), so a flow with
// splits has a latent of shape (D) whatever the nesting.
#pragma once

#include "flowinone/flows/bijector.h"
#include "flowinone/flows/coupling_network.h"

namespace fi {

struct SplitOptions {
  std::vector<std::int64_t> shape;  // per-sample input shape (C, H, W), C >= 2
  std::int64_t hidden = 64;         // channels of the prior network
  double scale_bound = 3.0;         // |log_sigma| < scale_bound
  ConditionOptions condition;       // what the prior sees besides x1
};

class Split : public Bijector {
 public:
  /// inner transforms the kept half, of per-sample shape (C - C/2, H, W).
  Split(const SplitOptions& options, BijectorPtr inner);
  BijectorOutput forward(const torch::Tensor& x, const torch::Tensor& cond) override;
  torch::Tensor inverse(const torch::Tensor& z, const torch::Tensor& cond) override;
  std::string kind() const override { return "split"; }
  /// (C, H, W) -> (C * H * W).
  std::vector<std::int64_t> output_shape(const std::vector<std::int64_t>& input) const override;

 private:
  /// (mu, log_sigma) for x2 from the kept half.
  std::pair<torch::Tensor, torch::Tensor> prior(const torch::Tensor& kept,
                                                const torch::Tensor& cond);
  SplitOptions options_;
  std::int64_t kept_channels_, split_channels_;
  std::vector<std::int64_t> inner_output_shape_;
  BijectorPtr inner_;
  std::shared_ptr<ConvConditioner> prior_;
};

}  // namespace fi
