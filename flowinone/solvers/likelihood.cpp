// The augmented ODE for the log-density, run through solve_ode.
//
// The velocity is evaluated with autograd recording on a fresh leaf copy of x, the divergence is
// taken from that graph, and both are returned detached: the solver's states never carry a graph,
// so memory stays flat however many steps are taken.
#include "flowinone/solvers/likelihood.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "flowinone/core/errors.h"
#include "flowinone/core/random.h"

namespace fi {

namespace {

constexpr double kLog2Pi = 1.8378770664093454836;

void check_options(const LikelihoodOptions& options, const char* where) {
  check_arg(options.num_probes >= 1, "[", where, "] num_probes, ", options.num_probes,
            ", must be >= 1");
  check_arg(options.batch_size >= 0, "[", where, "] batch_size, ", options.batch_size,
            ", must be >= 0 (0 = one batch)");
  check_arg(std::isfinite(options.log_scale_per_dim), "[", where, "] log_scale_per_dim, ",
            options.log_scale_per_dim, ", must be finite");
}

void check_points(const torch::Tensor& x, const char* where) {
  check_arg(x.defined() && x.dim() >= 2 && x.size(0) >= 1 && x.numel() > 0, "[", where,
            "] points must be a non-empty (B, ...) tensor with features, got ",
            x.defined() ? detail::concat(x.sizes()) : std::string("undefined"));
  check_arg(x.is_floating_point(), "[", where, "] points must be floating point, got ",
            x.scalar_type());
}

// d/dt [x, delta] = [v(x, t), -div v(x, t)] on the packed state (B, D + 1).
VelocityFn augmented_velocity(const VelocityFn& velocity, std::vector<std::int64_t> shape,
                              DivergenceEstimator estimator, torch::Tensor probes) {
  return [velocity, shape, estimator, probes](const torch::Tensor& z, double t) {
    torch::AutoGradMode grad_mode(true);
    const std::int64_t batch = z.size(0);
    const std::int64_t dim = z.size(1) - 1;
    // A leaf of its own, so the divergence is taken with respect to this x only.
    torch::Tensor x = z.narrow(1, 0, dim).detach().reshape(shape).clone();
    x.requires_grad_(true);
    const torch::Tensor v = velocity(x, t);
    check_arg(v.defined() && v.sizes() == x.sizes(), "[log_likelihood] the velocity returned ",
              v.defined() ? detail::concat(v.sizes()) : std::string("undefined"),
              " for a state of shape ", x.sizes());
    check_arg(v.requires_grad(),
              "[log_likelihood] the velocity's output does not depend on x through autograd: it "
              "must be differentiable (not evaluated under no-grad; see "
              "differentiable_model_velocity)");
    const torch::Tensor divergence = estimator == DivergenceEstimator::kExact
                                         ? exact_divergence(v, x)
                                         : hutchinson_divergence(v, x, probes);
    return at::cat({v.detach().reshape({batch, dim}).to(z.scalar_type()),
                    divergence.detach().neg().unsqueeze(1).to(z.scalar_type())},
                   1);
  };
}

// Integrates one batch from `start` at t0 to t1 with the log-density state; returns the state at
// t1 and delta(t1) (B) in float64.
struct AugmentedEnd {
  torch::Tensor x;
  torch::Tensor delta;
  std::int64_t nfe = 0;
};

AugmentedEnd integrate_batch(const VelocityFn& velocity, const torch::Tensor& start, double t0,
                             double t1, const LikelihoodOptions& options,
                             at::Generator& generator) {
  const std::int64_t batch = start.size(0);
  const std::int64_t dim = start.numel() / batch;
  const std::vector<std::int64_t> shape(start.sizes().begin(), start.sizes().end());
  torch::Tensor probes;
  if (options.estimator == DivergenceEstimator::kHutchinson) {
    probes =
        draw_probes(options.probe, options.num_probes, start.sizes(), generator, start.options());
  }
  const torch::Tensor z0 =
      at::cat({start.detach().reshape({batch, dim}), torch::zeros({batch, 1}, start.options())}, 1);
  SolveOptions solve = options.solve;
  solve.t0 = t0;
  solve.t1 = t1;
  solve.record_trajectory = false;
  const Solution solution =
      solve_ode(augmented_velocity(velocity, shape, options.estimator, probes), z0, solve);
  AugmentedEnd end;
  end.x = solution.x.narrow(1, 0, dim).reshape(shape).contiguous();
  end.delta = solution.x.select(1, dim).to(torch::kFloat64);
  end.nfe = solution.nfe;
  return end;
}

// Runs integrate_batch over the points in batches and assembles the log-densities.
LogDensity integrate_all(const VelocityFn& velocity, const torch::Tensor& points, bool backwards,
                         const LikelihoodOptions& options, const char* where) {
  check_arg(static_cast<bool>(velocity), "[", where, "] the velocity function is empty");
  check_options(options, where);
  check_points(points, where);
  at::Generator generator = make_generator(options.seed);
  const std::int64_t count = points.size(0);
  const std::int64_t batch_size = options.batch_size > 0 ? options.batch_size : count;
  std::vector<torch::Tensor> ends, log_ps;
  LogDensity result;
  for (std::int64_t begin = 0; begin < count; begin += batch_size) {
    const torch::Tensor batch = points.narrow(0, begin, std::min(batch_size, count - begin));
    const AugmentedEnd end = integrate_batch(velocity, batch, backwards ? 1.0 : 0.0,
                                             backwards ? 0.0 : 1.0, options, generator);
    // Backwards: log p1(x1) = log p0(x0) - delta(0); forwards: log p0(x0) + delta(1).
    const torch::Tensor log_p = backwards ? standard_normal_log_density(end.x) - end.delta
                                          : standard_normal_log_density(batch) + end.delta;
    ends.push_back(end.x);
    log_ps.push_back(log_p);
    result.nfe += end.nfe;
  }
  result.x = at::cat(ends, 0);
  result.log_p = at::cat(log_ps, 0);
  return result;
}

}  // namespace

torch::Tensor standard_normal_log_density(const torch::Tensor& x) {
  check_points(x, "standard_normal_log_density");
  const torch::Tensor flat = x.detach().reshape({x.size(0), -1}).to(torch::kFloat64);
  return flat.square().sum(1).mul(-0.5) - 0.5 * kLog2Pi * static_cast<double>(flat.size(1));
}

LogDensity log_likelihood(const VelocityFn& velocity, const torch::Tensor& x1,
                          const LikelihoodOptions& options) {
  return integrate_all(velocity, x1, /*backwards=*/true, options, "log_likelihood");
}

LogDensity sample_with_log_density(const VelocityFn& velocity, const torch::Tensor& x0,
                                   const LikelihoodOptions& options) {
  return integrate_all(velocity, x0, /*backwards=*/false, options, "sample_with_log_density");
}

LikelihoodResult summarize_log_density(const torch::Tensor& log_p, std::int64_t dim,
                                       double log_scale_per_dim) {
  check_arg(log_p.defined() && log_p.dim() == 1 && log_p.size(0) >= 1,
            "[summarize_log_density] log_p must be a non-empty (N) tensor");
  check_arg(dim >= 1, "[summarize_log_density] dim, ", dim, ", must be >= 1");
  const torch::Tensor nll = log_p.detach().to(torch::kCPU, torch::kFloat64).neg();
  LikelihoodResult result;
  result.count = nll.size(0);
  result.dim = dim;
  result.log_p = nll.neg();
  result.nll_nats = nll.mean().item<double>();
  result.nll_stderr = result.count >= 2
                          ? nll.std(/*unbiased=*/true).item<double>() / std::sqrt(result.count)
                          : std::numeric_limits<double>::quiet_NaN();
  const double nats_per_bit = static_cast<double>(dim) * std::log(2.0);
  result.bits_per_dim = (result.nll_nats + dim * log_scale_per_dim) / nats_per_bit;
  result.bits_per_dim_stderr = result.nll_stderr / nats_per_bit;
  return result;
}

LikelihoodResult evaluate_likelihood(const VelocityFn& velocity, const torch::Tensor& data,
                                     const LikelihoodOptions& options) {
  const LogDensity density = log_likelihood(velocity, data, options);
  LikelihoodResult result =
      summarize_log_density(density.log_p, data.numel() / data.size(0), options.log_scale_per_dim);
  result.nfe = density.nfe;
  return result;
}

}  // namespace fi
