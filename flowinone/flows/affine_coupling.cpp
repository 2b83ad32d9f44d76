#include "flowinone/flows/affine_coupling.h"

#include "flowinone/core/errors.h"

namespace fi {

AffineCoupling::AffineCoupling(const CouplingLayerOptions& options) : options_(options) {
  check_arg(options.scale_bound > 0, "[AffineCoupling] scale_bound must be > 0, got ",
            options.scale_bound);
  mask_ = register_buffer("mask", make_coupling_mask(options.mask, options.shape, options.flip));
  network_ = register_module("network", make_coupling_network(options, 2));
}

std::pair<torch::Tensor, torch::Tensor> AffineCoupling::scale_and_shift(const torch::Tensor& passed,
                                                                        const torch::Tensor& cond) {
  // Outputs are (B, 2D) or (B, 2C, H, W): the first half is the raw log-scale.
  const auto parts = network_->forward(passed, cond).chunk(2, 1);
  const torch::Tensor transformed = 1.0 - mask_;
  return {soft_clamp(parts[0], options_.scale_bound) * transformed, parts[1] * transformed};
}

BijectorOutput AffineCoupling::forward(const torch::Tensor& x, const torch::Tensor& cond) {
  const auto [s, t] = scale_and_shift(x * mask_, cond);
  // Where the mask is 1, s = t = 0, so x passes through unchanged.
  const torch::Tensor z = x * torch::exp(s) + t;
  return {z, s.flatten(1).sum(1)};
}

torch::Tensor AffineCoupling::inverse(const torch::Tensor& z, const torch::Tensor& cond) {
  const auto [s, t] = scale_and_shift(z * mask_, cond);
  return (z - t) * torch::exp(-s);
}

}  // namespace fi
