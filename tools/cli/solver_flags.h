// Flags shared by the commands that integrate a model: --solver, --steps, --rtol, --atol, and the
// rule that fills what the user left out from the model's own sampling defaults.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

#include "flowinone/solvers/ode.h"
#include "flowinone/train/run_config.h"

namespace fi::cli {

struct SolverFlags {
  std::string solver;  // empty: the model's sample_solver
  int steps = 0;       // 0: the model's sample_steps
  double rtol = 1e-5;
  double atol = 1e-5;
};

void add_solver_flags(CLI::App& command, SolverFlags& flags);

/// SolveOptions from the flags, defaulting to the configuration's sample_solver/sample_steps.
SolveOptions make_solve_options(const SolverFlags& flags, const RunConfig& config);

}  // namespace fi::cli
