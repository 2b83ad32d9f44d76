// Generation with a trained velocity model: draw x0 from the model's source distribution and
// integrate its velocity from t = 0 to 1.
#pragma once

#include <c10/core/Device.h>

#include <cstdint>

#include "flowinone/models/velocity_model.h"
#include "flowinone/solvers/ode.h"
#include "flowinone/train/run_config.h"

namespace fi {

/// The model as a solver callback: v(x, t) with t broadcast to (B), evaluated without gradients.
VelocityFn model_velocity(const VelocityModelPtr& model);

/// n points of the configuration's source distribution, drawn with `seed`, on `device`.
torch::Tensor sample_source(const RunConfig& config, std::int64_t n, std::uint64_t seed,
                            const c10::Device& device);

/// n points of the configuration's target (data) distribution, drawn with `seed`, on the CPU.
torch::Tensor sample_target(const RunConfig& config, std::int64_t n, std::uint64_t seed);

/// x0 = sample_source(...), then solve_ode(model, x0, options). The solution's x is on `device`.
Solution generate(const VelocityModelPtr& model, const RunConfig& config, std::int64_t n,
                  std::uint64_t seed, const SolveOptions& options, const c10::Device& device);

}  // namespace fi
