#include "flowinone/core/heap_tuning.h"

#include <cstdlib>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace fi {

bool keep_freed_memory_in_process() {
#if defined(__GLIBC__)
  for (const char* name : {"MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_"}) {
    if (std::getenv(name) != nullptr) return false;  // the user's choice wins
  }
  // Blocks under 32 MiB (every activation of the 2D and 32x32 image models) come from the heap
  // and are reused; the heap is trimmed only when 256 MiB lie free at its top.
  return mallopt(M_MMAP_THRESHOLD, 32 << 20) == 1 && mallopt(M_TRIM_THRESHOLD, 256 << 20) == 1 &&
         mallopt(M_TOP_PAD, 16 << 20) == 1;
#else
  return false;
#endif
}

}  // namespace fi
