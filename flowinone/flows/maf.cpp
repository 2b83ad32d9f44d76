#include "flowinone/flows/maf.h"

#include "flowinone/core/errors.h"
#include "flowinone/flows/coupling_network.h"

namespace fi {

MafLayer::MafLayer(MadeOptions made, double scale_bound) : scale_bound_(scale_bound) {
  check_arg(scale_bound > 0, "[MafLayer] scale_bound must be > 0, got ", scale_bound);
  made.outputs_per_dim = 2;
  made_ = register_module("made", std::make_shared<Made>(made));
}

std::pair<torch::Tensor, torch::Tensor> MafLayer::shift_and_log_scale(const torch::Tensor& x,
                                                                      const torch::Tensor& cond) {
  const torch::Tensor out = made_->forward(x, cond);  // (B, 2, D)
  return {out.select(1, 0), soft_clamp(out.select(1, 1), scale_bound_)};
}

BijectorOutput MafLayer::forward(const torch::Tensor& x, const torch::Tensor& cond) {
  const auto [mu, alpha] = shift_and_log_scale(x, cond);
  return {(x - mu) * torch::exp(-alpha), -alpha.sum(1)};
}

torch::Tensor MafLayer::inverse(const torch::Tensor& z, const torch::Tensor& cond) {
  check_arg(z.dim() == 2 && z.size(1) == made_->options().dim, "[MafLayer] z must be (B, ",
            made_->options().dim, "), got ", z.sizes());
  // After pass k the first k + 1 variables of the order are exact, as each depends only on
  // earlier ones; D passes give all of x.
  torch::Tensor x = torch::zeros_like(z);
  for (std::int64_t pass = 0; pass < z.size(1); ++pass) {
    const auto [mu, alpha] = shift_and_log_scale(x, cond);
    x = z * torch::exp(alpha) + mu;
  }
  return x;
}

}  // namespace fi
