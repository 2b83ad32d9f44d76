#include "flowinone/couplings/ot_sinkhorn.h"

#include <cmath>

#include "flowinone/core/errors.h"

namespace fi {

namespace {

// Each convergence check copies a number to the host (a device sync on a GPU), so it is done
// only every few iterations, as POT does.
constexpr int kCheckEvery = 10;
// Largest spread of C / reg for the scaling form: exp(-200) ~ 1e-87 keeps the kernel, the scalings
// u and v (up to ~1e87) and their products well inside double range.
constexpr double kMaxScalingRange = 200.0;

void check_sinkhorn_options(const char* where, double reg, int max_iterations, double tolerance) {
  check_arg(std::isfinite(reg) && reg > 0.0, "[", where, "] reg must be > 0, got ", reg);
  check_arg(max_iterations >= 1, "[", where, "] max_iterations must be >= 1, got ", max_iterations);
  check_arg(tolerance >= 0.0, "[", where, "] tolerance must be >= 0, got ", tolerance);
}

}  // namespace

torch::Tensor sinkhorn_plan(const torch::Tensor& cost, double reg, int max_iterations,
                            double tolerance) {
  check_sinkhorn_options("sinkhorn_plan", reg, max_iterations, tolerance);
  check_arg(cost.defined() && cost.dim() == 2 && cost.size(0) > 0 && cost.size(1) > 0,
            "[sinkhorn_plan] cost must be a non-empty (B0, B1) matrix, got ",
            cost.defined() ? cost.sizes() : torch::IntArrayRef{});
  const torch::Tensor scaled = cost.to(torch::kFloat64) / reg;  // C / reg
  check_arg(torch::isfinite(scaled).all().item<bool>(),
            "[sinkhorn_plan] cost has non-finite entries (or reg ", reg, " is too small for it)");
  const std::int64_t rows = cost.size(0), columns = cost.size(1);
  const double log_a = -std::log(static_cast<double>(rows));
  const double log_b = -std::log(static_cast<double>(columns));
  // A constant shift of the cost leaves the plan unchanged; it keeps the kernel's largest entry 1.
  const torch::Tensor shifted = scaled - scaled.min();
  if (shifted.max().item<double>() <= kMaxScalingRange) {
    // Scaling form (Cuturi 2013): u = a / (K v), v = b / (K^T u) with K = exp(-C / reg). Two
    // matrix-vector products an iteration instead of two log-sum-exps: several times faster,
    // and exact enough while K's entries stay far above double underflow.
    const torch::Tensor kernel = torch::exp(-shifted);
    const double a = std::exp(log_a), b = std::exp(log_b);
    torch::Tensor u = torch::full({rows}, a, scaled.options());
    torch::Tensor v = torch::ones({columns}, scaled.options());
    for (int iteration = 1; iteration <= max_iterations; ++iteration) {
      u = a / torch::mv(kernel, v);
      v = b / torch::mv(kernel.t(), u);
      if (iteration % kCheckEvery == 0 || iteration == max_iterations) {
        const double error = (u * torch::mv(kernel, v) - a).abs().sum().item<double>();
        if (error <= tolerance) break;
      }
    }
    return u.unsqueeze(1) * kernel * v.unsqueeze(0);
  }
  // Log domain, for small reg where exp(-C / reg) would underflow. Potentials in units of reg:
  // f = f_true / reg, g = g_true / reg.
  torch::Tensor f = torch::zeros({rows, 1}, scaled.options());
  torch::Tensor g = torch::zeros({1, columns}, scaled.options());
  for (int iteration = 1; iteration <= max_iterations; ++iteration) {
    f = log_a - torch::logsumexp(g - shifted, 1, /*keepdim=*/true);
    g = log_b - torch::logsumexp(f - shifted, 0, /*keepdim=*/true);
    if (iteration % kCheckEvery == 0 || iteration == max_iterations) {
      const torch::Tensor row_sums = torch::exp(f + g - shifted).sum(1);
      const double error = (row_sums - std::exp(log_a)).abs().sum().item<double>();
      if (error <= tolerance) break;
    }
  }
  return torch::exp(f + g - shifted);
}

OtSinkhornCoupling::OtSinkhornCoupling(const CouplingOptions& options) : options_(options) {
  check_sinkhorn_options("OtSinkhornCoupling", options.reg, options.max_iterations,
                         options.tolerance);
}

CoupledPairs OtSinkhornCoupling::pair(const torch::Tensor& x0, const torch::Tensor& x1,
                                      const torch::Tensor& labels, at::Generator& generator) const {
  check_coupling_inputs("OtSinkhornCoupling::pair", x0, x1, labels);
  const CouplingOptions& o = options_;
  return pair_by_class(
      x0, x1, labels, o.label_aware, [&](const torch::Tensor& source, const torch::Tensor& target) {
        torch::Tensor cost = squared_distance_cost(source, target);
        const double max_cost = cost.max().item<double>();
        // All points equal: every plan is optimal; skip the division by zero.
        if (max_cost > 0.0) cost = cost / max_cost;
        const torch::Tensor plan = sinkhorn_plan(cost, o.reg, o.max_iterations, o.tolerance);
        // Column j normalized is the law of the source row paired with target row j.
        const torch::Tensor conditional = plan.t() / plan.sum(0).unsqueeze(1);  // (B1, B0)
        const torch::Tensor cdf = torch::cumsum(conditional, 1);
        const torch::Tensor u =
            torch::rand({target.size(0), 1}, generator, torch::kFloat64).to(cdf.device());
        // right = true skips zero-mass rows; the clamp guards u above a rounded-down last entry.
        const torch::Tensor index = torch::searchsorted(cdf, u, /*out_int32=*/false, /*right=*/true)
                                        .flatten()
                                        .clamp_max(source.size(0) - 1);
        return source.index_select(0, index.to(source.device()));
      });
}

}  // namespace fi
