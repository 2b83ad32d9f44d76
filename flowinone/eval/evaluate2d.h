// Evaluation of a trained 2D model: draw samples (through the solver, for models that integrate)
// and score them against the model's target distribution.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "flowinone/generative/generative_model.h"
#include "flowinone/generative/run_config.h"
#include "flowinone/solvers/ode.h"

namespace fi {

struct Eval2dOptions {
  std::int64_t n = 10000;         // samples generated and scored
  std::int64_t w2_points = 2000;  // samples and data points in the W2 estimate
  std::uint64_t seed = 1;
  SolveOptions solve;        // models that integrate
  double temperature = 1.0;  // normalizing flows
};

struct Eval2dResult {
  std::optional<double> in_square_fraction;  // checkerboard targets only
  std::optional<double> square_balance;      // checkerboard targets only
  double w2 = 0;
  // Normalized path energy of the simulated trajectories: (integral over t of E||dx/dt||^2) /
  // E||x(1) - x(0)||^2 - 1, estimated from the solver's steps as sum ||dx||^2 / dt. It is 0 for
  // straight constant-speed paths and grows as the paths bend (Tong et al. 2024, Table 2). Only
  // for models that integrate (a normalizing flow has no trajectories).
  std::optional<double> path_energy;
  std::int64_t nfe = 0;
  double seconds = 0;  // generation time
};

/// The normalized path energy above, from states (N, ...) at increasing `times`.
double normalized_path_energy(const std::vector<torch::Tensor>& trajectory,
                              const std::vector<double>& times);

/// The sample-quality figures (checkerboard fractions, W2) of samples (N, 2) already drawn;
/// path_energy, nfe and seconds stay unset.
Eval2dResult score_2d_samples(const torch::Tensor& samples, const RunConfig& config,
                              const Eval2dOptions& options);

/// options.n samples of the model, their figures, and the path energy of their trajectories.
Eval2dResult evaluate_2d(GenerativeModel& model, const Eval2dOptions& options);

}  // namespace fi
