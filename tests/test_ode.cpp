// ODE solvers against the closed-form rotation x(t) = x0 exp(A t)^T with A = [[0, -1], [1, 0]].
#include <gtest/gtest.h>
#include <torch/types.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "flowinone/solvers/ode.h"
#include "flowinone/solvers/solver_gave_up.h"

namespace {

constexpr double kPi = 3.14159265358979323846;

// dx/dt = A x for each row x of the batch: x A^T = (-x_1, x_0).
torch::Tensor rotation_velocity(const torch::Tensor& x, double /*t*/) {
  return torch::stack({-x.select(1, 1), x.select(1, 0)}, 1);
}

torch::Tensor start_points() {
  return torch::tensor({1.0, 0.0, 0.3, -2.0, -1.5, 0.7}, torch::kFloat64).reshape({3, 2});
}

// The exact solution at time t from x0 at time t0.
torch::Tensor exact_rotation(const torch::Tensor& x0, double t0, double t) {
  const double c = std::cos(t - t0), s = std::sin(t - t0);
  return torch::stack(
      {c * x0.select(1, 0) - s * x0.select(1, 1), s * x0.select(1, 0) + c * x0.select(1, 1)}, 1);
}

double max_error(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).abs().max().item<double>();
}

double error_with_steps(fi::SolverKind kind, int num_steps) {
  fi::SolveOptions options;
  options.solver = kind;
  options.num_steps = num_steps;
  const torch::Tensor x0 = start_points();
  const fi::Solution solution = fi::solve_ode(rotation_velocity, x0, options);
  return max_error(solution.x, exact_rotation(x0, 0.0, 1.0));
}

double observed_order(fi::SolverKind kind, int num_steps) {
  return std::log2(error_with_steps(kind, num_steps) / error_with_steps(kind, 2 * num_steps));
}

}  // namespace

TEST(Ode, FixedStepErrorsFallAtEachMethodsOrder) {
  EXPECT_NEAR(observed_order(fi::SolverKind::kEuler, 64), 1.0, 0.1);
  EXPECT_NEAR(observed_order(fi::SolverKind::kMidpoint, 32), 2.0, 0.1);
  EXPECT_NEAR(observed_order(fi::SolverKind::kRk4, 16), 4.0, 0.15);
}

TEST(Ode, FixedStepCountsEvaluationsPerStep) {
  const torch::Tensor x0 = start_points();
  fi::SolveOptions options;
  options.num_steps = 7;
  const int per_step[] = {1, 2, 4};
  const fi::SolverKind kinds[] = {fi::SolverKind::kEuler, fi::SolverKind::kMidpoint,
                                  fi::SolverKind::kRk4};
  for (int k = 0; k < 3; ++k) {
    options.solver = kinds[k];
    const fi::Solution solution = fi::solve_ode(rotation_velocity, x0, options);
    EXPECT_EQ(solution.nfe, 7 * per_step[k]) << fi::to_string(kinds[k]);
    EXPECT_EQ(solution.num_accepted_steps, 7);
  }
}

TEST(Ode, BackwardIntegrationReturnsToTheStart) {
  const torch::Tensor x0 = start_points();
  const torch::Tensor x0_copy = x0.clone();
  for (const auto kind : {fi::SolverKind::kRk4, fi::SolverKind::kDopri5}) {
    fi::SolveOptions options;
    options.solver = kind;
    options.num_steps = 50;
    options.rtol = options.atol = 1e-9;
    const fi::Solution forward = fi::solve_ode(rotation_velocity, x0, options);
    options.t0 = 1.0;
    options.t1 = 0.0;
    const fi::Solution backward = fi::solve_ode(rotation_velocity, forward.x, options);
    EXPECT_LT(max_error(backward.x, x0), 1e-7) << fi::to_string(kind);
    // Backward from the exact state at t = 1 follows the exact solution too.
    const fi::Solution exact_back =
        fi::solve_ode(rotation_velocity, exact_rotation(x0, 0.0, 1.0), options);
    EXPECT_LT(max_error(exact_back.x, x0), 1e-7) << fi::to_string(kind);
  }
  EXPECT_TRUE(torch::equal(x0, x0_copy)) << "the solver wrote to x0";
}

TEST(Ode, Dopri5MeetsItsToleranceAndCountsEvaluationsExactly) {
  const torch::Tensor x0 = start_points();
  std::int64_t calls = 0;
  const fi::VelocityFn counted = [&calls](const torch::Tensor& x, double t) {
    ++calls;
    return rotation_velocity(x, t);
  };
  fi::SolveOptions options;
  options.solver = fi::SolverKind::kDopri5;
  options.t1 = 2.0 * kPi;
  options.rtol = options.atol = 1e-6;
  const fi::Solution tight = fi::solve_ode(counted, x0, options);
  EXPECT_EQ(tight.nfe, calls);
  // One start evaluation, one for the initial step probe, six per attempted step (FSAL).
  EXPECT_EQ(tight.nfe, 2 + 6 * (tight.num_accepted_steps + tight.num_rejected_steps));
  EXPECT_GT(tight.num_accepted_steps, 0);
  EXPECT_LE(max_error(tight.x, exact_rotation(x0, 0.0, options.t1)), 10 * 1e-6 * 2.0);

  calls = 0;
  options.rtol = options.atol = 1e-3;
  const fi::Solution loose = fi::solve_ode(counted, x0, options);
  EXPECT_EQ(loose.nfe, calls);
  EXPECT_GT(loose.nfe, 0);
  EXPECT_LT(loose.nfe, tight.nfe);
  EXPECT_LE(max_error(loose.x, exact_rotation(x0, 0.0, options.t1)), 10 * 1e-3 * 2.0);

  // A given first step skips the probe: one start evaluation and six per attempted step.
  options.first_step = 0.01;
  const fi::Solution given = fi::solve_ode(counted, x0, options);
  EXPECT_EQ(given.nfe, 1 + 6 * (given.num_accepted_steps + given.num_rejected_steps));
}

TEST(Ode, Dopri5ShrinksATooLargeFirstStep) {
  fi::SolveOptions options;
  options.solver = fi::SolverKind::kDopri5;
  options.first_step = 1.0;
  options.t1 = 5.0;
  options.rtol = options.atol = 1e-8;
  const torch::Tensor x0 = start_points();
  const fi::Solution solution = fi::solve_ode(rotation_velocity, x0, options);
  EXPECT_GT(solution.num_rejected_steps, 0);
  EXPECT_LT(max_error(solution.x, exact_rotation(x0, 0.0, 5.0)), 1e-6);
}

TEST(Ode, RecordsTheTrajectoryFromT0ToT1) {
  const torch::Tensor x0 = start_points();
  fi::SolveOptions options;
  options.solver = fi::SolverKind::kMidpoint;
  options.num_steps = 4;
  options.t0 = 0.5;
  options.t1 = -0.5;
  options.record_trajectory = true;
  const fi::Solution fixed = fi::solve_ode(rotation_velocity, x0, options);
  ASSERT_EQ(fixed.times.size(), 5u);
  ASSERT_EQ(fixed.trajectory.size(), 5u);
  EXPECT_DOUBLE_EQ(fixed.times[0], 0.5);
  EXPECT_DOUBLE_EQ(fixed.times[2], 0.0);
  EXPECT_EQ(fixed.times[4], -0.5);
  EXPECT_TRUE(torch::equal(fixed.trajectory[0], x0));
  EXPECT_TRUE(torch::equal(fixed.trajectory[4], fixed.x));

  options.solver = fi::SolverKind::kDopri5;
  const fi::Solution adaptive = fi::solve_ode(rotation_velocity, x0, options);
  ASSERT_EQ(adaptive.times.size(), static_cast<std::size_t>(adaptive.num_accepted_steps + 1));
  ASSERT_EQ(adaptive.trajectory.size(), adaptive.times.size());
  EXPECT_EQ(adaptive.times.front(), 0.5);
  EXPECT_EQ(adaptive.times.back(), -0.5);
  for (std::size_t i = 1; i < adaptive.times.size(); ++i) {
    EXPECT_LT(adaptive.times[i], adaptive.times[i - 1]);
    EXPECT_LT(max_error(adaptive.trajectory[i], exact_rotation(x0, 0.5, adaptive.times[i])), 1e-4);
  }
  EXPECT_TRUE(torch::equal(adaptive.trajectory.back(), adaptive.x));

  options.record_trajectory = false;
  EXPECT_TRUE(fi::solve_ode(rotation_velocity, x0, options).times.empty());
}

TEST(Ode, EqualTimesReturnTheStartWithoutEvaluations) {
  fi::SolveOptions options;
  options.t0 = options.t1 = 0.25;
  for (const auto kind : {fi::SolverKind::kEuler, fi::SolverKind::kDopri5}) {
    options.solver = kind;
    const fi::Solution solution = fi::solve_ode(rotation_velocity, start_points(), options);
    EXPECT_EQ(solution.nfe, 0);
    EXPECT_TRUE(torch::equal(solution.x, start_points()));
  }
}

TEST(Ode, BadOptionsThrowInvalidArgument) {
  const torch::Tensor x0 = start_points();
  fi::SolveOptions options;
  options.num_steps = 0;
  EXPECT_THROW(fi::solve_ode(rotation_velocity, x0, options), std::invalid_argument);
  options = {};
  options.rtol = 0;
  EXPECT_THROW(fi::solve_ode(rotation_velocity, x0, options), std::invalid_argument);
  options = {};
  options.atol = -1e-5;
  EXPECT_THROW(fi::solve_ode(rotation_velocity, x0, options), std::invalid_argument);
  options = {};
  options.rtol = 1e-300;  // below what a double resolves: the starting step would be NaN
  EXPECT_THROW(fi::solve_ode(rotation_velocity, x0, options), std::invalid_argument);
  options = {};
  options.first_step = -0.1;
  EXPECT_THROW(fi::solve_ode(rotation_velocity, x0, options), std::invalid_argument);
  options = {};
  options.t1 = std::numeric_limits<double>::infinity();
  EXPECT_THROW(fi::solve_ode(rotation_velocity, x0, options), std::invalid_argument);
  options = {};
  EXPECT_THROW(fi::solve_ode(rotation_velocity, torch::Tensor(), options), std::invalid_argument);
  EXPECT_THROW(fi::solve_ode(fi::VelocityFn(), x0, options), std::invalid_argument);
  const fi::VelocityFn wrong_shape = [](const torch::Tensor& x, double) { return x.sum(1); };
  EXPECT_THROW(fi::solve_ode(wrong_shape, x0, options), std::invalid_argument);
  try {
    options.num_steps = -3;
    fi::solve_ode(rotation_velocity, x0, options);
    FAIL() << "no throw";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("[solve_ode]"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("-3"), std::string::npos) << e.what();
  }
}

TEST(Ode, Dopri5FailuresThrowSolverGaveUpWithAHint) {
  const torch::Tensor x0 = start_points();
  fi::SolveOptions options;
  options.solver = fi::SolverKind::kDopri5;
  options.max_nfe = 20;
  options.rtol = options.atol = 1e-10;
  try {
    fi::solve_ode(rotation_velocity, x0, options);
    FAIL() << "no throw";
  } catch (const fi::SolverGaveUp& e) {
    EXPECT_NE(std::string(e.what()).find("max_nfe = 20"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("fixed-step solver"), std::string::npos) << e.what();
  }

  options = {};
  options.solver = fi::SolverKind::kDopri5;
  const fi::VelocityFn blows_up = [](const torch::Tensor& x, double t) {
    return t > 0.3 ? torch::full_like(x, std::nan("")) : torch::zeros_like(x);
  };
  EXPECT_THROW(fi::solve_ode(blows_up, x0, options), fi::SolverGaveUp);
}

TEST(Ode, ParseSolverRoundTripsAndListsNamesOnError) {
  for (const auto kind : {fi::SolverKind::kEuler, fi::SolverKind::kMidpoint, fi::SolverKind::kRk4,
                          fi::SolverKind::kDopri5}) {
    EXPECT_EQ(fi::parse_solver(fi::to_string(kind)), kind);
  }
  try {
    fi::parse_solver("heun");
    FAIL() << "no throw";
  } catch (const std::invalid_argument& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("[parse_solver]"), std::string::npos) << message;
    EXPECT_NE(message.find("heun"), std::string::npos) << message;
    EXPECT_NE(message.find("euler, midpoint, rk4, dopri5"), std::string::npos) << message;
  }
}

// on_step sees step 0 (x0) and every accepted step with the state the solver holds then, the
// last being the solution; an exception from it abandons the solve.
TEST(Ode, OnStepReportsEveryAcceptedStepAndCanAbandonTheSolve) {
  for (const auto solver : {fi::SolverKind::kEuler, fi::SolverKind::kRk4}) {
    fi::SolveOptions options;
    options.solver = solver;
    options.num_steps = 8;
    options.record_trajectory = true;
    std::vector<std::int64_t> steps;
    std::vector<double> times;
    std::vector<torch::Tensor> states;
    options.on_step = [&](const fi::SolveStep& step) {
      EXPECT_EQ(step.total, 8);
      steps.push_back(step.step);
      times.push_back(step.t);
      states.push_back(step.x->clone());
    };
    const fi::Solution solution = fi::solve_ode(rotation_velocity, start_points(), options);
    ASSERT_EQ(steps.size(), 9u);
    for (std::size_t k = 0; k < steps.size(); ++k) {
      EXPECT_EQ(steps[k], static_cast<std::int64_t>(k));
      EXPECT_DOUBLE_EQ(times[k], solution.times[k]);
      EXPECT_TRUE(torch::equal(states[k], solution.trajectory[k]));
    }
    EXPECT_TRUE(torch::equal(states.back(), solution.x));
  }
  fi::SolveOptions dopri;
  dopri.solver = fi::SolverKind::kDopri5;
  std::int64_t reports = 0;
  dopri.on_step = [&](const fi::SolveStep& step) {
    EXPECT_EQ(step.total, 0);
    EXPECT_EQ(step.step, reports++);
  };
  const fi::Solution adaptive = fi::solve_ode(rotation_velocity, start_points(), dopri);
  EXPECT_EQ(reports, adaptive.num_accepted_steps + 1);

  fi::SolveOptions stopped;
  std::int64_t evaluations = 0;
  stopped.num_steps = 100;
  stopped.on_step = [](const fi::SolveStep& step) {
    if (step.step == 3) throw std::runtime_error("cancelled");
  };
  auto counting = [&](const torch::Tensor& x, double t) {
    ++evaluations;
    return rotation_velocity(x, t);
  };
  EXPECT_THROW(fi::solve_ode(counting, start_points(), stopped), std::runtime_error);
  EXPECT_EQ(evaluations, 3);
}
