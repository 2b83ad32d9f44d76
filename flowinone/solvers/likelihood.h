// Exact log-likelihood of a continuous normalizing flow (a trained flow-matching model).
//
// The velocity v(x, t) carries a source density p0 at t = 0 to the model density p1 at t = 1.
// Along a trajectory, d log p_t(x_t) / dt = -div v(x_t, t) (Chen et al. 2018), so
//     log p1(x1) = log p0(x0) - integral_0^1 div v(x_t, t) dt,
// where x0 is found by integrating the velocity backwards from x1 at t = 1 to t = 0. The solver
// integrates the augmented state z = [x flattened to (B, D), delta (B, 1)] with
// d delta / dt = -div v, started at delta = 0: backwards, log p1(x1) = log p0(x0) - delta(0);
// forwards (sampling), log p1(x1) = log p0(x0) + delta(1). Packing both into one tensor makes
// Dopri5's error control cover the log-density too. The divergence is exact or Hutchinson's
// estimate (solvers/divergence.h); Hutchinson probes are drawn once per batch from a generator
// seeded with options.seed and kept for the whole trajectory.
//
// p0 is the standard Gaussian N(0, I_D): log p0(x) = -|x|^2 / 2 - (D / 2) log(2 pi).
//
// Bits per dimension. The NLL is in nats of the density over the space the model works in.
// bits_per_dim = (nll + D * log_scale_per_dim) / (D ln 2). log_scale_per_dim is log |dy/dx| of
// the per-dimension affine map from model space x to the space the figure is reported in, y:
//   - continuous data scored as is (2D points): log_scale_per_dim = 0.
//   - 8-bit images that the model sees in [-1, 1] as x = (y - 127.5) / 127.5 (y the dequantized
//     pixel value in [0, 256) with unit-width bins): log_scale_per_dim = log(127.5), so that
//     bits_per_dim is the usual discrete 8-bit figure, -log2 P(pixels) / D, as an upper bound
//     when the model was fitted to uniformly dequantized data (Theis et al. 2016). Data scaled
//     as x = y / 256 to [0, 1) use log(256).
// The dequantization noise itself (adding u ~ U[0, 1) to y before scoring) is the caller's job.
#pragma once

#include <torch/types.h>

#include <cstdint>

#include "flowinone/solvers/divergence.h"
#include "flowinone/solvers/ode.h"

namespace fi {

struct LikelihoodOptions {
  DivergenceEstimator estimator = DivergenceEstimator::kExact;
  ProbeKind probe = ProbeKind::kRademacher;  // hutchinson only
  std::int64_t num_probes = 1;               // hutchinson probes per point (>= 1)
  std::uint64_t seed = 0;                    // seed of the probe generator
  SolveOptions solve;           // solver, steps, tolerances; t0, t1 and the trajectory are ignored
  std::int64_t batch_size = 0;  // points per solve; 0 = all points in one solve
  double log_scale_per_dim = 0.0;  // for bits_per_dim; see the header comment
};

/// Points at the other end of the flow and the model's log-density of the data-side points.
struct LogDensity {
  torch::Tensor x;       // (B, ...) x0 for log_likelihood, x1 for sample_with_log_density
  torch::Tensor log_p;   // (B) float64, log p1(x1) in nats
  std::int64_t nfe = 0;  // velocity evaluations, summed over batches
};

struct LikelihoodResult {
  double nll_nats = 0;      // mean of -log p1 over the points
  double nll_stderr = 0;    // standard error of that mean (NaN for one point); with Hutchinson it
                            // includes the probe noise, as each point has its own probes
  double bits_per_dim = 0;  // (nll_nats + D log_scale_per_dim) / (D ln 2)
  double bits_per_dim_stderr = 0;  // nll_stderr / (D ln 2)
  std::int64_t count = 0;          // points scored
  std::int64_t dim = 0;            // D, features per point
  std::int64_t nfe = 0;            // velocity evaluations, summed over batches
  torch::Tensor log_p;             // (count) float64 CPU, per point
};

/// log N(x; 0, I) of each row: x (B, ...) -> (B) float64.
torch::Tensor standard_normal_log_density(const torch::Tensor& x);

/// log p1(x1) by integrating backwards from t = 1 to t = 0. `velocity` must be differentiable in
/// x (autograd recording is switched on inside; generative/generate.h has
/// differentiable_model_velocity for a model). x1 (B, ...). Throws std::invalid_argument for bad
/// options, or when the velocity's output does not depend on x through autograd.
LogDensity log_likelihood(const VelocityFn& velocity, const torch::Tensor& x1,
                          const LikelihoodOptions& options);

/// Sampling with the log-density in the same pass: integrates x0 (B, ...) forwards from t = 0 to
/// t = 1 and returns x1 with log p1(x1) = log p0(x0) + delta(1).
LogDensity sample_with_log_density(const VelocityFn& velocity, const torch::Tensor& x0,
                                   const LikelihoodOptions& options);

/// Mean NLL, its standard error and bits per dimension of per-point log-densities (N) for data
/// of `dim` features per point.
LikelihoodResult summarize_log_density(const torch::Tensor& log_p, std::int64_t dim,
                                       double log_scale_per_dim);

/// log_likelihood of every point of `data` (N, ...) and its summary.
LikelihoodResult evaluate_likelihood(const VelocityFn& velocity, const torch::Tensor& data,
                                     const LikelihoodOptions& options);

}  // namespace fi
