// Busy single-threaded processes beside a benchmark: the ordinary state of a shared machine, or of
// a server answering other requests. `flowinone bench NAME --load N` measures quiet, then again
// with N of these running.
#pragma once

#include <sys/types.h>

#include <vector>

namespace fi::cli {

class BusyLoad {
 public:
  /// Starts `processes` children that spin on one core each until this object is destroyed (or
  /// this process dies: they get SIGKILL with it).
  explicit BusyLoad(int processes);
  ~BusyLoad();
  BusyLoad(const BusyLoad&) = delete;
  BusyLoad& operator=(const BusyLoad&) = delete;

 private:
  std::vector<pid_t> children_;
};

}  // namespace fi::cli
