// Evaluation of a trained 2D model: generate samples with a solver and score them against the
// model's target distribution.
#pragma once

#include <c10/core/Device.h>

#include <cstdint>
#include <optional>

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
  std::int64_t nfe = 0;
  double seconds = 0;  // generation time
};

Eval2dResult evaluate_2d(const VelocityModelPtr& model, const RunConfig& config,
                         const Eval2dOptions& options, const c10::Device& device);

}  // namespace fi
