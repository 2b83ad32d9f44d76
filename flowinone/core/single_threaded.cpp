#include "flowinone/core/single_threaded.h"

#include <ATen/Parallel.h>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace fi {

#ifdef _OPENMP
// at::get_num_threads() first: the first parallel operation LibTorch runs on a thread sets that
// thread's OpenMP count to torch's global one (its lazy per-thread initialization), which would
// undo the 1 set here in the middle of the scope, on the first step of a run only (a resumed run
// then differed from a straight one). Initialized now, it leaves the count alone.
SingleThreaded::SingleThreaded() : previous_((at::get_num_threads(), omp_get_max_threads())) {
  omp_set_num_threads(1);
}
SingleThreaded::~SingleThreaded() { omp_set_num_threads(previous_); }
// LibTorch's count (--threads), initialized on this thread if it was not: a server's request
// threads start with OpenMP's default, the number of cores.
int available_threads() { return at::get_num_threads(); }
#else
// Built without OpenMP (CMake found none): torch's own setting, process-wide there.
SingleThreaded::SingleThreaded() : previous_(at::get_num_threads()) { at::set_num_threads(1); }
SingleThreaded::~SingleThreaded() { at::set_num_threads(previous_); }
int available_threads() { return 1; }
#endif

}  // namespace fi
