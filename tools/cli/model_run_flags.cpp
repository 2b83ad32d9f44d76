#include "model_run_flags.h"

#include <cstdlib>

#include "flowinone/core/errors.h"
#include "flowinone/solvers/solver_limits.h"

namespace fi::cli {

void add_solver_flags(CLI::App& command, SolverFlags& flags) {
  command.add_option("--solver", flags.solver,
                     "euler, midpoint, rk4 or dopri5 (default: the model's)");
  command.add_option("--steps", flags.steps, "fixed-step solver steps (default: the model's)")
      ->check(CLI::Range(1, static_cast<int>(kMaxSolverSteps)));
  command.add_option("--rtol", flags.rtol, "dopri5 relative tolerance")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  command.add_option("--atol", flags.atol, "dopri5 absolute tolerance")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
}

void add_model_run_flags(CLI::App& command, ModelRunFlags& flags, const std::string& n_help) {
  command.add_option("--model", flags.model, "model directory")->required();
  if (!n_help.empty()) {  // commands that take no count (translate) pass no help
    flags.n_option = command.add_option("--n", flags.n, n_help);
    flags.n_option->check(CLI::Range(std::int64_t{1}, std::int64_t{10'000'000}))
        ->capture_default_str();
  }
  add_solver_flags(command, flags.solver);
  command.add_option("--seed", flags.seed, "seed of the source draws")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  command.add_option("--device", flags.device, "auto, cpu, cuda or cuda:N")->capture_default_str();
}

void check_png_path(const std::string& flag, const std::string& path) {
  const std::string suffix = ".png";
  check_arg(path.size() > suffix.size() &&
                path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0,
            "[", flag, "] ", path, ": expected a .png file name");
}

CLI::Validator finite_range(double low, double high) {
  // CLI::Range lets NaN through (every comparison with it is false).
  const std::string range = "[" + detail::concat(low) + ", " + detail::concat(high) + "]";
  return CLI::Validator(
      [low, high, range](std::string& text) {
        char* end = nullptr;
        const double value = std::strtod(text.c_str(), &end);
        if (text.empty() || *end != '\0' || !(value >= low && value <= high))
          return "must be a number in " + range + ", got '" + text + "'";
        return std::string();
      },
      "in " + range);
}

SolveOptions make_solve_options(const SolverFlags& flags, const RunConfig& config) {
  SolveOptions options;
  options.solver = parse_solver(flags.solver.empty() ? config.sample_solver : flags.solver);
  options.num_steps = flags.steps > 0 ? flags.steps : static_cast<int>(config.sample_steps);
  options.rtol = flags.rtol;
  options.atol = flags.atol;
  return options;
}

void add_solver_fields(nlohmann::json& json, const SolveOptions& solve, std::int64_t nfe) {
  const bool adaptive = solve.solver == SolverKind::kDopri5;
  json["solver"] = to_string(solve.solver);
  json["steps"] = adaptive ? nlohmann::json(nullptr) : nlohmann::json(solve.num_steps);
  if (adaptive) {
    json["rtol"] = solve.rtol;
    json["atol"] = solve.atol;
  }
  json["nfe"] = nfe;
}

}  // namespace fi::cli
