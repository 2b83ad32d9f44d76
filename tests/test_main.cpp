// Test entry point: one intra-op thread per core, and tests named *_CUDA skipped without a GPU.
#include <execinfo.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <csignal>

#include "flowinone/core/heap_tuning.h"
#include "flowinone/core/runtime.h"

namespace {
// A crash prints its stack, so a failure on a machine without a debugger still says where.
extern "C" void print_stack_and_die(int signal_number) {
  void* frames[64];
  const int count = backtrace(frames, 64);
  const char message[] = "\n*** fatal signal; stack:\n";
  (void)!write(STDERR_FILENO, message, sizeof message - 1);
  backtrace_symbols_fd(frames, count, STDERR_FILENO);
  std::signal(signal_number, SIG_DFL);
  std::raise(signal_number);
}
}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGSEGV, print_stack_and_die);
  std::signal(SIGABRT, print_stack_and_die);
  ::testing::InitGoogleTest(&argc, argv);
  fi::set_num_threads(0);
  fi::keep_freed_memory_in_process();
  if (!fi::cuda_available()) {
    std::string filter = ::testing::GTEST_FLAG(filter);
    filter += (filter.find('-') == std::string::npos ? "-" : ":");
    filter += "*_CUDA";
    ::testing::GTEST_FLAG(filter) = filter;
  }
  return RUN_ALL_TESTS();
}
