// Evaluation of a trained 2D model: generate samples with a solver and score them against the
// model's target distribution.
#pragma once

#include <c10/core/Device.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "flowinone/models/velocity_model.h"
#include "flowinone/solvers/ode.h"
#include "flowinone/train/run_config.h"

namespace fi {

struct Eval2dOptions {
  std::int64_t n = 10000;         // samples generated and scored
  std::int64_t w2_points = 2000;  // samples and data points in the W2 estimate
  std::uint64_t seed = 1;
  SolveOptions solve;
};

struct Eval2dResult {
  std::optional<double> in_square_fraction;  // checkerboard targets only
  std::optional<double> square_balance;      // checkerboard targets only
  double w2 = 0;
  // Normalized path energy of the simulated trajectories: (integral over t of E||dx/dt||^2) /
  // E||x(1) - x(0)||^2 - 1, estimated from the solver's steps as sum ||dx||^2 / dt. It is 0 for
  // straight constant-speed paths and grows as the paths bend (Tong et al. 2024, Table 2).
  double path_energy = 0;
  std::int64_t nfe = 0;
  double seconds = 0;  // generation time
};

/// The normalized path energy above, from states (N, ...) at increasing `times`.
double normalized_path_energy(const std::vector<torch::Tensor>& trajectory,
                              const std::vector<double>& times);

/// The sample-quality figures (checkerboard fractions, W2) of samples (N, 2) already drawn, for
/// models that are not integrated (normalizing flows); path_energy, nfe and seconds stay 0.
Eval2dResult score_2d_samples(const torch::Tensor& samples, const RunConfig& config,
                              const Eval2dOptions& options);

Eval2dResult evaluate_2d(const VelocityModelPtr& model, const RunConfig& config,
                         const Eval2dOptions& options, const c10::Device& device);

}  // namespace fi
