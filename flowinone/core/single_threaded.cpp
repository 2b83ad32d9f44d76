#include "flowinone/core/single_threaded.h"

#ifdef _OPENMP
#include <omp.h>
#else
#include <ATen/Parallel.h>
#endif

namespace fi {

#ifdef _OPENMP
SingleThreaded::SingleThreaded() : previous_(omp_get_max_threads()) { omp_set_num_threads(1); }
SingleThreaded::~SingleThreaded() { omp_set_num_threads(previous_); }
int available_threads() { return omp_get_max_threads(); }
#else
// Built without OpenMP (CMake found none): torch's own setting, process-wide there.
SingleThreaded::SingleThreaded() : previous_(at::get_num_threads()) { at::set_num_threads(1); }
SingleThreaded::~SingleThreaded() { at::set_num_threads(previous_); }
int available_threads() { return 1; }
#endif

}  // namespace fi
