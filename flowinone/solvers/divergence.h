// Divergence of a velocity field, div v(x) = trace(dv/dx), for the CNF log-density.
//
// The instantaneous change of variables (Chen et al. 2018, "Neural ordinary differential
// equations") says d log p(x_t) / dt = -div v(x_t, t) along a trajectory. Two ways to get it:
//   exact        trace of the Jacobian from D vector-Jacobian products, one per dimension
//                (row i of J is e_i^T J); exact, and affordable for low dimensions (2D, 3D).
//   hutchinson   an unbiased estimate E[eps^T J eps] with probes eps of zero mean and identity
//                covariance (Hutchinson 1989; FFJORD, Grathwohl et al. 2019): K products
//                whatever D is. Rademacher probes (+-1) have the lower variance; Gaussian ones are
//                the textbook choice. A trajectory keeps its probes from start to end, so the ODE
//                the solver sees stays smooth.
// Shapes: x (B, ...) with the batch on dimension 0; v has the shape of x and must have been
// computed from x with autograd recording (x.requires_grad()); the result is (B). Probes are
// (K, B, ...).
#pragma once

#include <ATen/core/Generator.h>
#include <torch/types.h>

#include <cstdint>
#include <string>

namespace fi {

enum class DivergenceEstimator { kExact, kHutchinson };

/// "exact", "hutchinson"; throws std::invalid_argument listing the valid names.
DivergenceEstimator parse_divergence_estimator(const std::string& name);
std::string to_string(DivergenceEstimator estimator);

enum class ProbeKind { kRademacher, kGaussian };

/// "rademacher", "gaussian"; throws std::invalid_argument listing the valid names.
ProbeKind parse_probe_kind(const std::string& name);
std::string to_string(ProbeKind kind);

/// trace(dv/dx) for each batch row, from one vector-Jacobian product per dimension. The graph of
/// v is freed afterwards. v, x (B, ...) -> (B) in v's dtype.
torch::Tensor exact_divergence(const torch::Tensor& v, const torch::Tensor& x);

/// The Hutchinson estimate: the mean over the K probes of eps_k^T (dv/dx) eps_k, for each batch
/// row. v, x (B, ...), probes (K, B, ...) -> (B). The graph of v is freed afterwards.
torch::Tensor hutchinson_divergence(const torch::Tensor& v, const torch::Tensor& x,
                                    const torch::Tensor& probes);

/// K probes for a state of `shape` (B, ...): (K, B, ...) drawn on the CPU from `generator` with
/// `options`' dtype, then moved to its device (so a seed gives the same probes everywhere).
torch::Tensor draw_probes(ProbeKind kind, std::int64_t num_probes, at::IntArrayRef shape,
                          at::Generator& generator, const torch::TensorOptions& options);

}  // namespace fi
