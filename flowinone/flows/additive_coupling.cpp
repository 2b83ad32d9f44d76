#include "flowinone/flows/additive_coupling.h"

namespace fi {

AdditiveCoupling::AdditiveCoupling(const CouplingLayerOptions& options) : options_(options) {
  mask_ = register_buffer("mask", make_coupling_mask(options.mask, options.shape, options.flip));
  network_ = register_module("network", make_coupling_network(options, 1));
}

torch::Tensor AdditiveCoupling::shift(const torch::Tensor& passed, const torch::Tensor& cond) {
  return network_->forward(passed, cond) * (1.0 - mask_);
}

BijectorOutput AdditiveCoupling::forward(const torch::Tensor& x, const torch::Tensor& cond) {
  return {x + shift(x * mask_, cond), zero_logdet(x)};
}

torch::Tensor AdditiveCoupling::inverse(const torch::Tensor& z, const torch::Tensor& cond) {
  // The passed-through part is unchanged, so the network sees the same input as in forward.
  return z - shift(z * mask_, cond);
}

}  // namespace fi
