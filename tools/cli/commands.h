// The subcommands of the flowinone program. Each add_*_command declares its flags in one table
// (CLI11 options filling an options struct) and returns the function that runs it after parsing;
// that function returns the exit status, which main() alone turns into the process's exit.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

namespace fi::cli {

struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;  // the exit status (0 success)
};

Command add_train_command(CLI::App& parent);
Command add_sample_command(CLI::App& parent);
Command add_eval_command(CLI::App& parent);
Command add_viz_command(CLI::App& parent);
Command add_bench_command(CLI::App& parent);
Command add_study_command(CLI::App& parent);
Command add_launch_command(CLI::App& parent);
Command add_likelihood_command(CLI::App& parent);
Command add_train_classifier_command(CLI::App& parent);
Command add_prompt_command(CLI::App& parent);
Command add_translate_command(CLI::App& parent);
Command add_serve_command(CLI::App& parent);

}  // namespace fi::cli
