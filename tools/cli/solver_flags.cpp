#include "solver_flags.h"

namespace fi::cli {

void add_solver_flags(CLI::App& command, SolverFlags& flags) {
  command.add_option("--solver", flags.solver, "euler, midpoint, rk4 or dopri5 (default: the model's)");
  command.add_option("--steps", flags.steps, "fixed-step solver steps (default: the model's)")
      ->check(CLI::PositiveNumber);
  command.add_option("--rtol", flags.rtol, "dopri5 relative tolerance")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  command.add_option("--atol", flags.atol, "dopri5 absolute tolerance")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
}

SolveOptions make_solve_options(const SolverFlags& flags, const RunConfig& config) {
  SolveOptions options;
  options.solver = parse_solver(flags.solver.empty() ? config.sample_solver : flags.solver);
  options.num_steps = flags.steps > 0 ? flags.steps : static_cast<int>(config.sample_steps);
  options.rtol = flags.rtol;
  options.atol = flags.atol;
  return options;
}

}  // namespace fi::cli
