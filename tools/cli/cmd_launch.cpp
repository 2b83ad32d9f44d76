// flowinone launch: starts N local ranks of this same program, the way torchrun does.
//
//   flowinone launch --nproc 2 [--master-port 29500] -- train --preset checkerboard --out runs/dp
//
// Each rank gets RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, MASTER_ADDR and MASTER_PORT and
// `--threads` (the cores shared out, unless given). Ranks run in their own process group, so a
// Ctrl-C reaches them once, forwarded by launch (they then stop together, with a checkpoint).
// When a rank fails, launch stops the others (SIGTERM, then SIGKILL after a grace period) and
// exits with that rank's status. Several hosts: start `flowinone train` on each host by hand or
// from a scheduler, with those variables set (see README).
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <iostream>
#include <thread>

#include "commands.h"
#include "flowinone/core/errors.h"

namespace fi::cli {

namespace {

struct LaunchFlags {
  int nproc = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  int threads_per_process = 0;  // 0: the cores divided among the ranks
  double grace_seconds = 10;
  std::vector<std::string> command;
};

volatile std::sig_atomic_t g_forward_signal = 0;

extern "C" void remember_signal(int signal_number) { g_forward_signal = signal_number; }

std::string self_executable() {
  std::vector<char> buffer(4096);
  const ssize_t length = ::readlink("/proc/self/exe", buffer.data(), buffer.size() - 1);
  if (length <= 0) throw std::runtime_error("[launch] cannot find this program's path");
  return std::string(buffer.data(), static_cast<std::size_t>(length));
}

// This process's environment with `assignments` (NAME=value) replacing any same-named entries.
std::vector<std::string> environment_with(const std::vector<std::string>& assignments) {
  std::vector<std::string> result;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string text = *entry;
    const std::string name = text.substr(0, text.find('='));
    bool replaced = false;
    for (const auto& assignment : assignments)
      replaced = replaced || assignment.compare(0, name.size() + 1, name + "=") == 0;
    if (!replaced) result.push_back(text);
  }
  result.insert(result.end(), assignments.begin(), assignments.end());
  return result;
}

// Runs in the child between fork and exec: only async-signal-safe calls, everything prepared.
[[noreturn]] void exec_rank(char* const* argv, char* const* envp) {
  ::setpgid(0, 0);                     // our own group: the terminal's Ctrl-C goes to launch only
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);  // launch gone: stop with it
  ::execve(argv[0], argv, envp);
  ::_exit(127);
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "signal " + std::to_string(WTERMSIG(status));
  return "status " + std::to_string(status);
}

int exit_code_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

int run_launch(const LaunchFlags& flags) {
  check_arg(!flags.command.empty(),
            "[launch] give the command to run after --, e.g. "
            "`flowinone launch --nproc 2 -- train --preset checkerboard "
            "--out runs/dp`");
  check_arg(flags.command.front() == "train" || flags.command.front() == "bench",
            "[launch] only `train` (and `bench allreduce`) run on several ranks, got '",
            flags.command.front(), "'");
  const std::string executable = self_executable();
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  const int threads = flags.threads_per_process > 0
                          ? flags.threads_per_process
                          : std::max(1, static_cast<int>(cores) / flags.nproc);

  std::vector<std::string> arguments = {executable, "--threads", std::to_string(threads)};
  arguments.insert(arguments.end(), flags.command.begin(), flags.command.end());
  std::vector<char*> argv;
  for (auto& argument : arguments) argv.push_back(argument.data());
  argv.push_back(nullptr);

  g_forward_signal = 0;
  std::signal(SIGINT, remember_signal);
  std::signal(SIGTERM, remember_signal);

  std::vector<pid_t> pids(flags.nproc, -1);
  for (int rank = 0; rank < flags.nproc; ++rank) {
    std::vector<std::string> env = environment_with(
        {"RANK=" + std::to_string(rank), "LOCAL_RANK=" + std::to_string(rank),
         "WORLD_SIZE=" + std::to_string(flags.nproc),
         "LOCAL_WORLD_SIZE=" + std::to_string(flags.nproc), "MASTER_ADDR=" + flags.master_addr,
         "MASTER_PORT=" + std::to_string(flags.master_port)});
    std::vector<char*> envp;
    for (auto& entry : env) envp.push_back(entry.data());
    envp.push_back(nullptr);
    const pid_t pid = ::fork();
    if (pid == 0) exec_rank(argv.data(), envp.data());
    if (pid < 0) {
      for (pid_t started : pids)
        if (started > 0) ::kill(started, SIGKILL);
      throw std::runtime_error("[launch] fork failed for rank " + std::to_string(rank));
    }
    pids[rank] = pid;
  }

  using Clock = std::chrono::steady_clock;
  int running = flags.nproc;
  int result = 0;
  bool stopping = false;
  bool interrupted = false;  // a forwarded Ctrl-C: ranks stop together by themselves
  Clock::time_point kill_at = Clock::time_point::max();
  while (running > 0) {
    if (g_forward_signal != 0) {
      const int signal_number = g_forward_signal;
      g_forward_signal = 0;
      interrupted = true;
      for (pid_t pid : pids)
        if (pid > 0) ::kill(pid, signal_number);
    }
    int status = 0;
    const pid_t done = ::waitpid(-1, &status, WNOHANG);
    if (done > 0) {
      for (int rank = 0; rank < flags.nproc; ++rank) {
        if (pids[rank] != done) continue;
        pids[rank] = -1;
        --running;
        const int code = exit_code_of(status);
        if (code != 0 && result == 0) {
          result = code;
          if (running > 0 && !interrupted) {
            std::cerr << "launch: rank " << rank << " ended with " << describe_status(status)
                      << "; stopping the other ranks\n";
            for (pid_t pid : pids)
              if (pid > 0) ::kill(pid, SIGTERM);
            stopping = true;
            kill_at = Clock::now() + std::chrono::milliseconds(
                                         static_cast<std::int64_t>(flags.grace_seconds * 1000));
          }
        }
      }
      continue;
    }
    if (stopping && Clock::now() > kill_at) {
      for (pid_t pid : pids)
        if (pid > 0) ::kill(pid, SIGKILL);
      stopping = false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  return result;
}

}  // namespace

Command add_launch_command(CLI::App& parent) {
  auto flags = std::make_shared<LaunchFlags>();
  CLI::App* app = parent.add_subcommand(
      "launch", "run `train` on N local processes (data parallel): launch --nproc N -- train ...");
  app->add_option("--nproc", flags->nproc, "number of processes (ranks) on this host")
      ->required()
      ->check(CLI::Range(1, 1024));
  app->add_option("--master-addr", flags->master_addr, "address of rank 0's rendezvous store")
      ->capture_default_str();
  app->add_option("--master-port", flags->master_port, "port of rank 0's rendezvous store")
      ->check(CLI::Range(1, 65535))
      ->capture_default_str();
  app->add_option("--threads-per-process", flags->threads_per_process,
                  "LibTorch threads of each rank (0 = the cores divided among the ranks)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app->add_option("--grace", flags->grace_seconds,
                  "seconds the other ranks get to stop after one fails, before SIGKILL")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app->add_option("command", flags->command, "the flowinone command each rank runs, after --");
  return {app, [flags] { return run_launch(*flags); }};
}

}  // namespace fi::cli
