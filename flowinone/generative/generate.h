// Generation with a trained velocity model: draw x0 from the model's source distribution and
// integrate its velocity from t = 0 to 1.
#pragma once

#include <c10/core/Device.h>

#include <cstdint>

#include "flowinone/generative/run_config.h"
#include "flowinone/models/velocity_model.h"
#include "flowinone/solvers/ode.h"

namespace fi {

/// The model as a solver callback: v(x, t) with t broadcast to (B), evaluated without gradients.
VelocityFn model_velocity(const VelocityModelPtr& model);

/// The model as a solver callback that autograd can differentiate: v(x, t) with t broadcast to
/// (B) in x's dtype, evaluated with gradients enabled whatever the caller's grad mode.
VelocityFn differentiable_model_velocity(const VelocityModelPtr& model);

/// Throws std::invalid_argument unless the configuration's source is the standard Gaussian: the
/// likelihood needs p0 in closed form.
void check_likelihood_source(const RunConfig& config);

/// n points of the configuration's source distribution, drawn with `seed`, on `device`: 2D
/// points, or standard normal images (n, C, H, W). Throws std::invalid_argument for a bridge
/// (source = input), whose source points are the inputs themselves.
torch::Tensor sample_source(const RunConfig& config, std::int64_t n, std::uint64_t seed,
                            const c10::Device& device);

/// GenerationOptions::noise checked to be of `shape` (n rows of the model's data shape), on
/// `device`; throws std::invalid_argument naming both shapes.
torch::Tensor given_noise(const torch::Tensor& noise, c10::IntArrayRef shape,
                          const c10::Device& device);

/// n points of the configuration's target (data) distribution, drawn with `seed`, on the CPU.
torch::Tensor sample_target(const RunConfig& config, std::int64_t n, std::uint64_t seed);

/// x0 = sample_source(...), then solve_point_rows(model, x0, options). The solution's x is on
/// `device`.
Solution generate(const VelocityModelPtr& model, const RunConfig& config, std::int64_t n,
                  std::uint64_t seed, const SolveOptions& options, const c10::Device& device);

/// Integrates from x0 with the model conditioned on `cond` (labels and/or a condition image, for
/// x0's batch), under classifier-free guidance of weight `guidance` against null_condition(cond)
/// (1 = the plain conditional velocity, one evaluation per step). An empty cond integrates the
/// unconditional velocity.
Solution generate_conditioned(const VelocityModelPtr& model, const torch::Tensor& x0,
                              const Conditioning& cond, double guidance,
                              const SolveOptions& options);

}  // namespace fi
