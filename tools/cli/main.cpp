// flowinone: the command-line program. One top-level catch turns exceptions into
// "error: ..." and the exit status: 2 for bad usage or input, 1 for an internal failure.
#include <c10/util/Exception.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>

#include "commands.h"
#include "flowinone/core/errors.h"
#include "flowinone/core/heap_tuning.h"
#include "flowinone/core/printable.h"
#include "flowinone/core/runtime.h"
#include "flowinone/solvers/solver_gave_up.h"
#include "flowinone/train/distributed.h"

namespace {

int run(int argc, char** argv) {
  CLI::App app{"flowinone: flow matching and normalizing flows in C++ (LibTorch)", "flowinone"};
  app.set_version_flag("--version", std::string("flowinone ") + FLOWINONE_VERSION + " (" +
                                        fi::runtime_description() + ")");
  app.require_subcommand(1, 1);
  int num_threads = 0;
  // Also accepted after the command (`train ... --threads 1`); the last one given wins.
  app.add_option("--threads", num_threads, "intra-op threads (0 = one per core)")
      ->check(CLI::Range(0, 1024))
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.fallthrough();  // inherited by the commands added below

  // One command a line, so that branches adding commands do not collide.
  std::vector<fi::cli::Command> commands;
  commands.push_back(fi::cli::add_train_command(app));
  commands.push_back(fi::cli::add_sample_command(app));
  commands.push_back(fi::cli::add_eval_command(app));
  commands.push_back(fi::cli::add_viz_command(app));
  commands.push_back(fi::cli::add_bench_command(app));
  commands.push_back(fi::cli::add_study_command(app));
  commands.push_back(fi::cli::add_launch_command(app));
  commands.push_back(fi::cli::add_likelihood_command(app));
  commands.push_back(fi::cli::add_train_classifier_command(app));
  commands.push_back(fi::cli::add_prompt_command(app));
  commands.push_back(fi::cli::add_translate_command(app));
  commands.push_back(fi::cli::add_serve_command(app));
  // CLI11 would only say "a subcommand is required" for a misspelt command; name it instead.
  std::string first_word;
  for (int i = 1; i < argc && first_word.empty(); ++i) {
    const std::string word = argv[i];
    if (word == "--threads") {
      ++i;  // skip its value
    } else if (word.empty() || word[0] != '-') {
      first_word = word;
    }
  }
  if (!first_word.empty()) {
    std::string valid;
    bool known = false;
    for (const auto& command : commands) {
      known = known || command.app->get_name() == first_word;
      valid += (valid.empty() ? "" : ", ") + command.app->get_name();
    }
    if (!known) {
      std::cerr << "error: unknown command '" << fi::printable(first_word) << "' (valid: " << valid
                << ")\n";
      return 2;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "error: " << fi::printable_lines(e.what()) << " (see flowinone --help)\n";
    return 2;
  }
  fi::set_num_threads(num_threads);
  for (const auto& command : commands) {
    if (command.app->parsed()) return command.run();
  }
  return 0;
}

}  // namespace

// OpenMP threads that finish early spin for a while before they sleep (libgomp's default wait
// policy). Beside another busy process that spinning holds the core the late thread needs: a
// 2-core machine running one other process trained the 2D model 15x slower on two threads than on
// one (109 against 2,457 steps/s, docs/results.md). libgomp reads OMP_WAIT_POLICY once, when it
// is loaded, before main: so the program runs itself again with PASSIVE unless the user chose a
// policy. The cost is one more exec (measured in docs/results.md).
void prefer_passive_openmp_threads(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr) return;
  if (setenv("OMP_WAIT_POLICY", "PASSIVE", 1) != 0) return;
  execv("/proc/self/exe", argv);
  // No /proc (or exec refused): run as started, with the default policy.
  unsetenv("OMP_WAIT_POLICY");
}

// Messages may quote a hostile file (a tensor name, a configuration value): printable_lines keeps
// its escape sequences and stray bytes off the terminal.
int main(int argc, char** argv) {
  prefer_passive_openmp_threads(argv);
  fi::keep_freed_memory_in_process();
  try {
    return run(argc, argv);
  } catch (const std::invalid_argument& e) {
    std::cerr << "error: " << fi::printable_lines(e.what()) << "\n";
    return 2;
  } catch (const fi::FileError& e) {
    std::cerr << "error: " << fi::printable_lines(e.what()) << "\n";
    return 2;
  } catch (const fi::SolverGaveUp& e) {
    std::cerr << "error: " << fi::printable_lines(e.what()) << "\n";  // the settings' outcome
    return 2;
  } catch (const fi::DistributedError& e) {
    std::cerr << "error: " << fi::printable_lines(e.what())
              << "\n";  // a peer failed: not an internal failure here
    return 1;
  } catch (const c10::Error& e) {
    std::cerr << "error: internal failure in LibTorch: "
              << fi::printable_lines(e.what_without_backtrace()) << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "error: internal failure: " << fi::printable_lines(e.what()) << "\n";
    return 1;
  }
}
