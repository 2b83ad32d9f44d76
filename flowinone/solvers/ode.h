// ODE solvers for flows: integrate dx/dt = v(x, t) from t0 to t1.
//
// Time convention: t = 0 is the source (noise or the input image), t = 1 the data. Sampling runs
// 0 -> 1; likelihood runs 1 -> 0 (t1 < t0 is allowed: the step dt is then negative).
// The velocity is any callable of (x, t): a 2D MLP, an image UNet, a guided model. x has any shape
// with the batch on dimension 0; t is one scalar time for the whole batch.
//
// Fixed-step methods: Euler (order 1), midpoint (order 2), classic Runge-Kutta (order 4).
// Adaptive: Dormand-Prince 5(4) with error control ||err / (atol + rtol * max(|x|,|x_new|))||_rms
// <= 1 (Hairer, Norsett, Wanner, "Solving ODEs I", II.4), FSAL, and a PI-free standard controller.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace fi {

/// v(x, t): x (B, ...) at scalar time t -> velocity of the same shape as x.
using VelocityFn = std::function<torch::Tensor(const torch::Tensor& x, double t)>;

enum class SolverKind { kEuler, kMidpoint, kRk4, kDopri5 };

/// "euler", "midpoint", "rk4", "dopri5"; throws std::invalid_argument listing the valid names.
SolverKind parse_solver(const std::string& name);
std::string to_string(SolverKind kind);

/// What a solver reports after each accepted step (SolveOptions::on_step).
struct SolveStep {
  std::int64_t step = 0;             // accepted steps so far: 0 at the start, 1 after the first
  std::int64_t total = 0;            // fixed-step methods: num_steps; dopri5: 0 (not known)
  double t = 0;                      // the time reached
  const torch::Tensor* x = nullptr;  // the state at t (B, ...)
};

struct SolveOptions {
  SolverKind solver = SolverKind::kEuler;
  int num_steps = 100;             // fixed-step methods; must be >= 1
  double t0 = 0.0;                 // start time
  double t1 = 1.0;                 // end time (may be < t0)
  double rtol = 1e-5;              // dopri5 relative tolerance (> 0)
  double atol = 1e-5;              // dopri5 absolute tolerance (> 0)
  double first_step = 0.0;         // dopri5 initial step size; 0 = choose automatically
  std::int64_t max_nfe = 100000;   // dopri5 gives up (throws) past this many evaluations
  bool record_trajectory = false;  // keep x at every accepted step (including t0 and t1)
  // Called at the start (step 0, x0) and after every accepted step: progress, pictures along the
  // way. It may throw to abandon the solve (a cancelled request); the exception leaves solve_ode.
  std::function<void(const SolveStep&)> on_step;
};

struct Solution {
  torch::Tensor x;       // (B, ...) state at t1
  std::int64_t nfe = 0;  // velocity evaluations
  std::int64_t num_accepted_steps = 0;
  std::int64_t num_rejected_steps = 0;    // dopri5 only
  std::vector<double> times;              // when record_trajectory: time of each recorded state
  std::vector<torch::Tensor> trajectory;  // when record_trajectory: states, same order as times
};

/// Integrates `velocity` from options.t0 to options.t1 starting at x0. Runs under no-grad only if
/// the caller sets it. Throws std::invalid_argument for bad options (rtol and atol below 1e-14
/// included), fi::SolverGaveUp (solvers/solver_gave_up.h) when dopri5 exceeds max_nfe, its step
/// underflows or its state becomes non-finite.
Solution solve_ode(const VelocityFn& velocity, const torch::Tensor& x0,
                   const SolveOptions& options);

}  // namespace fi
