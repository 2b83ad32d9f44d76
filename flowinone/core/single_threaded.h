// Kernels on the calling thread run single-threaded for a scope.
//
// Small models (the 2D MLPs: products of a few hundred rows by 64 to 256 columns) lose to torch's
// intra-op threads: the threads' start and barrier cost more than the work, and beside another
// busy process a barrier waits for a core the other process holds. Measured on a 2-core EPYC:
// training width 64 ran 1,377 steps/s on two threads against 2,464 on one, quiet. Such work runs
// under this guard and uses the cores by splitting rows instead (gradient shards, point_rows.h).
// OpenMP's thread count is a per-thread setting, read by torch's kernels and by OpenMP OpenBLAS,
// so other threads of the process are not affected.
#pragma once

namespace fi {

class SingleThreaded {
 public:
  SingleThreaded();
  ~SingleThreaded();
  SingleThreaded(const SingleThreaded&) = delete;
  SingleThreaded& operator=(const SingleThreaded&) = delete;

 private:
  int previous_;
};

/// The threads a parallel region opened by this thread would have (1 without OpenMP).
int available_threads();

}  // namespace fi
