// ODE solvers: fixed-step Euler, midpoint and RK4, and adaptive Dormand-Prince 5(4).
//
// Every state is a fresh tensor built from the previous one (x0 is never written to); in-place
// adds only touch tensors this file just created, never what the velocity returned, because a
// velocity may hand back a tensor it keeps (a cache, or x itself).
#include "flowinone/solvers/ode.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>

#include "flowinone/core/errors.h"
#include "flowinone/core/named_values.h"
#include "flowinone/solvers/solver_gave_up.h"

namespace fi {

namespace {

constexpr NamedValue<SolverKind> kSolverNames[] = {{SolverKind::kEuler, "euler"},
                                                   {SolverKind::kMidpoint, "midpoint"},
                                                   {SolverKind::kRk4, "rk4"},
                                                   {SolverKind::kDopri5, "dopri5"}};

std::string shape_text(const torch::Tensor& t) {
  std::ostringstream out;
  out << t.sizes();
  return out.str();
}

// Calls the velocity, counting evaluations and checking the shape it returns.
class CountedVelocity {
 public:
  CountedVelocity(const VelocityFn& velocity, std::int64_t max_nfe)
      : velocity_(velocity), max_nfe_(max_nfe) {}

  torch::Tensor operator()(const torch::Tensor& x, double t) {
    if (nfe_ >= max_nfe_) {
      throw SolverGaveUp(detail::concat("[solve_ode] dopri5 gave up at t = ", t,
                                        " after max_nfe = ", max_nfe_, " velocity evaluations"));
    }
    ++nfe_;
    torch::Tensor v = velocity_(x, t);
    check_arg(v.defined() && v.sizes() == x.sizes(), "[solve_ode] the velocity returned shape ",
              v.defined() ? shape_text(v) : std::string("(undefined)"), " for a state of shape ",
              shape_text(x), " at t = ", t);
    return v;
  }

  std::int64_t nfe() const { return nfe_; }

 private:
  const VelocityFn& velocity_;
  std::int64_t max_nfe_;
  std::int64_t nfe_ = 0;
};

void record(Solution& solution, const SolveOptions& options, double t, const torch::Tensor& x) {
  if (!options.record_trajectory) return;
  solution.times.push_back(t);
  solution.trajectory.push_back(x);
}

// After an accepted step: the trajectory, then the caller's observer.
void accepted(Solution& solution, const SolveOptions& options, std::int64_t step,
              std::int64_t total, double t, const torch::Tensor& x) {
  record(solution, options, t, x);
  if (options.on_step) options.on_step(SolveStep{step, total, t, &x});
}

// One fixed step of size dt from (x, t); returns the new state as a fresh tensor.
torch::Tensor fixed_step(SolverKind kind, CountedVelocity& f, const torch::Tensor& x, double t,
                         double dt) {
  switch (kind) {
    case SolverKind::kEuler:
      return at::add(x, f(x, t), dt);
    case SolverKind::kMidpoint: {
      const torch::Tensor x_mid = at::add(x, f(x, t), 0.5 * dt);
      return at::add(x, f(x_mid, t + 0.5 * dt), dt);
    }
    case SolverKind::kRk4: {
      const torch::Tensor k1 = f(x, t);
      const torch::Tensor k2 = f(at::add(x, k1, 0.5 * dt), t + 0.5 * dt);
      // sum = k1 + 2 k2 + 2 k3 + k4, accumulated in a fresh tensor.
      torch::Tensor sum = at::add(k1, k2, 2.0);
      const torch::Tensor k3 = f(at::add(x, k2, 0.5 * dt), t + 0.5 * dt);
      sum.add_(k3, 2.0);
      sum.add_(f(at::add(x, k3, dt), t + dt));
      return at::add(x, sum, dt / 6.0);
    }
    case SolverKind::kDopri5:
      break;
  }
  throw std::logic_error("[solve_ode] fixed_step called for an adaptive solver");
}

Solution solve_fixed(const VelocityFn& velocity, const torch::Tensor& x0,
                     const SolveOptions& options) {
  Solution solution;
  CountedVelocity f(velocity, std::numeric_limits<std::int64_t>::max());
  const double dt = (options.t1 - options.t0) / options.num_steps;
  torch::Tensor x = x0;
  accepted(solution, options, 0, options.num_steps, options.t0, x);
  for (int step = 0; step < options.num_steps; ++step) {
    const double t = options.t0 + step * dt;
    x = fixed_step(options.solver, f, x, t, dt);
    // The last step lands exactly on t1, whatever rounding did to t0 + num_steps * dt.
    const double t_next = step + 1 == options.num_steps ? options.t1 : t + dt;
    accepted(solution, options, step + 1, options.num_steps, t_next, x);
  }
  solution.x = x;
  solution.nfe = f.nfe();
  solution.num_accepted_steps = options.num_steps;
  return solution;
}

// Dormand-Prince 5(4) tableau (Hairer, Norsett, Wanner, table II.5.2).
constexpr double kC2 = 1.0 / 5, kC3 = 3.0 / 10, kC4 = 4.0 / 5, kC5 = 8.0 / 9;
constexpr double kA21 = 1.0 / 5;
constexpr double kA31 = 3.0 / 40, kA32 = 9.0 / 40;
constexpr double kA41 = 44.0 / 45, kA42 = -56.0 / 15, kA43 = 32.0 / 9;
constexpr double kA51 = 19372.0 / 6561, kA52 = -25360.0 / 2187, kA53 = 64448.0 / 6561,
                 kA54 = -212.0 / 729;
constexpr double kA61 = 9017.0 / 3168, kA62 = -355.0 / 33, kA63 = 46732.0 / 5247, kA64 = 49.0 / 176,
                 kA65 = -5103.0 / 18656;
// The fifth-order weights; they are also row 7 of the tableau (first same as last).
constexpr double kB1 = 35.0 / 384, kB3 = 500.0 / 1113, kB4 = 125.0 / 192, kB5 = -2187.0 / 6784,
                 kB6 = 11.0 / 84;
// Fifth-order minus fourth-order weights: the local error estimate.
constexpr double kE1 = 71.0 / 57600, kE3 = -71.0 / 16695, kE4 = 71.0 / 1920,
                 kE5 = -17253.0 / 339200, kE6 = 22.0 / 525, kE7 = -1.0 / 40;

constexpr double kSafety = 0.9;
constexpr double kMinFactor = 0.2;
constexpr double kMaxFactor = 10.0;

// ||a / (atol + rtol * |scale|)||_rms as a scalar tensor (no device sync).
torch::Tensor scaled_rms(const torch::Tensor& a, const torch::Tensor& scale,
                         const SolveOptions& options) {
  return (a / (scale.abs() * options.rtol + options.atol)).square().mean();
}

// Hairer's starting step (Solving ODEs I, II.4): an explicit Euler probe of the second
// derivative. Costs one evaluation. Returns a positive magnitude.
double initial_step(CountedVelocity& f, const torch::Tensor& x0, const torch::Tensor& f0,
                    double direction, const SolveOptions& options) {
  const double d0 = std::sqrt(scaled_rms(x0, x0, options).item<double>());
  const double d1 = std::sqrt(scaled_rms(f0, x0, options).item<double>());
  const double h0 = (d0 < 1e-5 || d1 < 1e-5) ? 1e-6 : 0.01 * d0 / d1;
  const torch::Tensor x1 = at::add(x0, f0, direction * h0);
  const torch::Tensor f1 = f(x1, options.t0 + direction * h0);
  const double d2 = std::sqrt(scaled_rms(f1 - f0, x0, options).item<double>()) / h0;
  const double d_max = std::max(d1, d2);
  const double h1 = d_max <= 1e-15 ? std::max(1e-6, h0 * 1e-3) : std::pow(0.01 / d_max, 1.0 / 5);
  return std::min(100.0 * h0, h1);
}

Solution solve_dopri5(const VelocityFn& velocity, const torch::Tensor& x0,
                      const SolveOptions& options) {
  Solution solution;
  CountedVelocity f(velocity, options.max_nfe);
  const double t0 = options.t0, t1 = options.t1;
  const double direction = t1 > t0 ? 1.0 : -1.0;
  const double span = std::abs(t1 - t0);

  torch::Tensor x = x0;
  torch::Tensor k1 = f(x, t0);
  double h =
      options.first_step > 0 ? options.first_step : initial_step(f, x0, k1, direction, options);
  h = std::min(h, span);
  double t = t0;
  bool last_rejected = false;
  accepted(solution, options, 0, 0, t, x);

  while (direction * (t1 - t) > 0) {
    // Never step past t1; a remainder of a few ulps is folded into this step.
    const double remaining = std::abs(t1 - t);
    const bool reaches_end = h >= remaining * (1.0 - 1e-12);
    if (reaches_end) h = remaining;
    if (h <= 4.0 * std::numeric_limits<double>::epsilon() * std::max(1.0, std::abs(t))) {
      throw SolverGaveUp(
          detail::concat("[solve_ode] dopri5 step size underflow (", h, ") at t = ", t));
    }
    const double dt = direction * h;
    const double t_new = reaches_end ? t1 : t + dt;

    // Stages build fresh tensors: add x to the first term, then accumulate in place.
    const torch::Tensor k2 = f(at::add(x, k1, dt * kA21), t + kC2 * dt);
    torch::Tensor s = at::add(x, k1, dt * kA31);
    const torch::Tensor k3 = f(s.add_(k2, dt * kA32), t + kC3 * dt);
    s = at::add(x, k1, dt * kA41);
    s.add_(k2, dt * kA42);
    const torch::Tensor k4 = f(s.add_(k3, dt * kA43), t + kC4 * dt);
    s = at::add(x, k1, dt * kA51);
    s.add_(k2, dt * kA52).add_(k3, dt * kA53);
    const torch::Tensor k5 = f(s.add_(k4, dt * kA54), t + kC5 * dt);
    s = at::add(x, k1, dt * kA61);
    s.add_(k2, dt * kA62).add_(k3, dt * kA63).add_(k4, dt * kA64);
    const torch::Tensor k6 = f(s.add_(k5, dt * kA65), t + dt);
    torch::Tensor x_new = at::add(x, k1, dt * kB1);
    x_new.add_(k3, dt * kB3).add_(k4, dt * kB4).add_(k5, dt * kB5).add_(k6, dt * kB6);
    const torch::Tensor k7 = f(x_new, t_new);

    torch::Tensor err = at::mul(k1, dt * kE1);
    err.add_(k3, dt * kE3).add_(k4, dt * kE4).add_(k5, dt * kE5).add_(k6, dt * kE6);
    err.add_(k7, dt * kE7);
    // One device sync per step: the error norm and whether the new state is finite.
    const torch::Tensor stats =
        at::stack({scaled_rms(err, at::maximum(x.abs(), x_new.abs()), options).to(at::kDouble),
                   at::isfinite(x_new).all().to(at::kDouble)})
            .cpu();
    const double error = std::sqrt(stats[0].item<double>());
    if (!std::isfinite(error) || stats[1].item<double>() == 0.0) {
      throw SolverGaveUp(detail::concat("[solve_ode] dopri5 state became non-finite (error norm ",
                                        error, ") stepping from t = ", t, " to ", t_new));
    }

    double factor = error == 0.0 ? kMaxFactor : kSafety * std::pow(error, -1.0 / 5);
    factor = std::clamp(factor, kMinFactor, kMaxFactor);
    if (error <= 1.0) {
      x = x_new;
      k1 = k7;
      t = t_new;
      ++solution.num_accepted_steps;
      accepted(solution, options, solution.num_accepted_steps, 0, t, x);
      // Right after a rejection the step may not grow (Hairer's facmax = 1).
      if (last_rejected) factor = std::min(factor, 1.0);
      last_rejected = false;
    } else {
      ++solution.num_rejected_steps;
      last_rejected = true;
    }
    h *= factor;
  }
  solution.x = x;
  solution.nfe = f.nfe();
  return solution;
}

void check_options(const torch::Tensor& x0, const SolveOptions& options) {
  check_arg(x0.defined(), "[solve_ode] x0 is an undefined tensor");
  check_arg(x0.is_floating_point(), "[solve_ode] x0 must be a floating-point tensor, got ",
            x0.scalar_type());
  check_arg(std::isfinite(options.t0) && std::isfinite(options.t1),
            "[solve_ode] t0 and t1 must be finite, got t0 = ", options.t0, ", t1 = ", options.t1);
  check_arg(options.num_steps >= 1, "[solve_ode] num_steps, ", options.num_steps, ", must be >= 1");
  // Below 1e-14 a double cannot tell the local error from rounding: the step would only shrink
  // (and at 1e-300 the starting step's scaled norms overflow to a NaN step).
  constexpr double kMinTolerance = 1e-14;
  check_arg(options.rtol >= kMinTolerance && std::isfinite(options.rtol), "[solve_ode] rtol, ",
            options.rtol, ", must be finite and at least ", kMinTolerance);
  check_arg(options.atol >= kMinTolerance && std::isfinite(options.atol), "[solve_ode] atol, ",
            options.atol, ", must be finite and at least ", kMinTolerance);
  check_arg(options.first_step >= 0 && std::isfinite(options.first_step),
            "[solve_ode] first_step, ", options.first_step,
            ", must be >= 0 (0 = choose automatically)");
  check_arg(options.max_nfe >= 1, "[solve_ode] max_nfe, ", options.max_nfe, ", must be >= 1");
}

}  // namespace

SolverKind parse_solver(const std::string& name) {
  return parse_named(kSolverNames, name, "solver");
}

std::string to_string(SolverKind kind) { return name_of(kSolverNames, kind); }

Solution solve_ode(const VelocityFn& velocity, const torch::Tensor& x0,
                   const SolveOptions& options) {
  check_arg(static_cast<bool>(velocity), "[solve_ode] the velocity function is empty");
  check_options(x0, options);
  if (options.t0 == options.t1) {
    Solution solution;
    solution.x = x0;
    record(solution, options, options.t0, x0);
    return solution;
  }
  if (options.solver == SolverKind::kDopri5) return solve_dopri5(velocity, x0, options);
  return solve_fixed(velocity, x0, options);
}

}  // namespace fi
