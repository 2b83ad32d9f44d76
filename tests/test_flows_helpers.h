// Shared checks for the normalizing-flow tests: random non-trivial weights, round trips, and the
// log-determinant against a brute-force autograd Jacobian.
#pragma once

#include <gtest/gtest.h>
#include <torch/autograd.h>

#include <functional>
#include <string>

#include "flowinone/core/random.h"
#include "flowinone/flows/bijector.h"

namespace fi::testing {

/// Adds N(0, scale^2) noise to every parameter, so zero-initialized output layers (couplings
/// start as the identity) become non-trivial.
inline void perturb_parameters(torch::nn::Module& module, double scale, std::uint64_t seed) {
  torch::NoGradGuard no_grad;
  auto generator = fi::make_generator(seed);
  for (auto& p : module.parameters()) {
    p.add_(torch::randn(p.sizes(), generator, p.options()) * scale);
  }
}

/// Largest |a - b| over all entries.
inline double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
}

/// Per-sample log|det dz/dx| by brute force: the Jacobian of the flattened output with respect to
/// the flattened input, one autograd row at a time (samples are independent, so one backward per
/// output index covers the whole batch), then slogdet. x must be float64.
inline torch::Tensor brute_force_logdet(Bijector& layer, const torch::Tensor& x,
                                        const torch::Tensor& cond) {
  const torch::Tensor input = x.detach().clone().requires_grad_(true);
  const torch::Tensor z = layer.forward(input, cond).z.flatten(1);
  const std::int64_t batch = x.size(0), out_dims = z.size(1), in_dims = x[0].numel();
  EXPECT_EQ(out_dims, in_dims) << "a bijector keeps the number of dimensions";
  torch::Tensor jacobian = torch::zeros({batch, out_dims, in_dims}, torch::kFloat64);
  for (std::int64_t j = 0; j < out_dims; ++j) {
    const auto grads = torch::autograd::grad({z.select(1, j).sum()}, {input},
                                             /*grad_outputs=*/{}, /*retain_graph=*/true,
                                             /*create_graph=*/false, /*allow_unused=*/true);
    if (grads[0].defined()) jacobian.select(1, j).copy_(grads[0].flatten(1));
  }
  return std::get<1>(torch::slogdet(jacobian));
}

/// Checks the layer's logdet against the brute-force one: |error| < 1e-6 * max(1, |reference|).
inline void expect_logdet_matches_jacobian(Bijector& layer, const torch::Tensor& x,
                                           const torch::Tensor& cond, const std::string& label) {
  const torch::Tensor reference = brute_force_logdet(layer, x, cond);
  const torch::Tensor logdet = layer.forward(x, cond).logdet;
  ASSERT_EQ(logdet.sizes(), reference.sizes()) << label;
  for (std::int64_t b = 0; b < x.size(0); ++b) {
    const double ref = reference[b].item<double>(), got = logdet[b].item<double>();
    EXPECT_LE(std::abs(got - ref), 1e-6 * std::max(1.0, std::abs(ref)))
        << label << " sample " << b << ": logdet " << got << " vs brute force " << ref;
  }
}

/// inverse(forward(x)) == x within `tolerance`, and logdet has shape (B).
inline void expect_round_trip(Bijector& layer, const torch::Tensor& x, const torch::Tensor& cond,
                              const std::string& label, double tolerance = 1e-5) {
  torch::NoGradGuard no_grad;
  const BijectorOutput out = layer.forward(x, cond);
  ASSERT_EQ(out.logdet.dim(), 1) << label;
  ASSERT_EQ(out.logdet.size(0), x.size(0)) << label;
  const torch::Tensor back = layer.inverse(out.z, cond);
  ASSERT_EQ(back.sizes(), x.sizes()) << label;
  EXPECT_LE(max_abs_diff(back, x), tolerance) << label << " batch " << x.size(0);
}

}  // namespace fi::testing
