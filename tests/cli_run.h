// Runs the built flowinone program (one intra-op thread) and captures its status and output, for
// the tests of the command-line contract.
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace fi::testing {

struct CliRun {
  int status = -1;     // exit status; -1 when killed by a signal or not started
  std::string output;  // stdout and stderr together
};

/// Runs a shell command line and captures its status and output (stdout and stderr together).
inline CliRun run_shell(const std::string& command) {
  CliRun run;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return run;
  std::array<char, 4096> buffer;
  std::size_t got;
  while ((got = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0)
    run.output.append(buffer.data(), got);
  const int status = ::pclose(pipe);
  run.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

/// `prefix` goes before the program (e.g. "timeout -s INT 5 ").
inline CliRun run_cli_prefixed(const std::string& prefix, const std::string& arguments) {
  return run_shell(prefix + std::string(FLOWINONE_CLI_PATH) + " --threads 1 " + arguments);
}

inline CliRun run_cli(const std::string& arguments) { return run_cli_prefixed("", arguments); }

}  // namespace fi::testing
