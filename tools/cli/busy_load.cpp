#include "busy_load.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdexcept>

namespace fi::cli {

BusyLoad::BusyLoad(int processes) {
  for (int i = 0; i < processes; ++i) {
    const pid_t pid = fork();
    if (pid < 0) {
      this->~BusyLoad();
      throw std::runtime_error("[bench] fork() failed while starting the load");
    }
    if (pid == 0) {
      // Only async-signal-safe calls here: the parent has threads.
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() == 1) _exit(0);  // the parent died before prctl
      volatile unsigned long long counter = 0;
      for (;;) counter = counter + 1;
    }
    children_.push_back(pid);
  }
}

BusyLoad::~BusyLoad() {
  for (const pid_t pid : children_) kill(pid, SIGKILL);
  for (const pid_t pid : children_) waitpid(pid, nullptr, 0);
  children_.clear();
}

}  // namespace fi::cli
