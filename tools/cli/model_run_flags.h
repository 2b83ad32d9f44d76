// Flags shared by the commands that run a trained model (sample, eval, viz, likelihood, translate):
// --model, --n, --seed,
// --device, and the solver's --solver, --steps, --rtol, --atol with the rule that fills what the
// user left out from the model's own sampling defaults.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "flowinone/generative/run_config.h"
#include "flowinone/solvers/ode.h"

namespace fi::cli {

struct SolverFlags {
  std::string solver;  // empty: the model's sample_solver
  int steps = 0;       // 0: the model's sample_steps
  double rtol = 1e-5;
  double atol = 1e-5;
};

struct ModelRunFlags {
  std::string model;
  std::int64_t n = 10000;
  CLI::Option* n_option = nullptr;  // to tell an explicit --n from the default
  bool n_given() const { return n_option != nullptr && n_option->count() > 0; }
  SolverFlags solver;
  std::int64_t seed = 1;
  std::string device = "auto";
};

/// Declares --solver, --steps, --rtol and --atol.
void add_solver_flags(CLI::App& command, SolverFlags& flags);

/// Declares --model, --n (described by `n_help`; none when it is empty), the solver flags, --seed
/// and --device.
void add_model_run_flags(CLI::App& command, ModelRunFlags& flags, const std::string& n_help);

/// Throws std::invalid_argument unless `path` names a .png file: a writer of pictures must never
/// replace a model's weights or checkpoint (model.safetensors, checkpoint/state.safetensors).
void check_png_path(const std::string& flag, const std::string& path);

/// A number in [low, high]; NaN, which CLI::Range lets through, is refused.
CLI::Validator finite_range(double low, double high);

/// SolveOptions from the flags, defaulting to the configuration's sample_solver/sample_steps.
SolveOptions make_solve_options(const SolverFlags& flags, const RunConfig& config);

/// Adds what a figure was integrated with to a command's JSON: "solver", "steps" (null for
/// dopri5), "rtol" and "atol" (dopri5 only) and "nfe".
void add_solver_fields(nlohmann::json& json, const SolveOptions& solve, std::int64_t nfe);

}  // namespace fi::cli
