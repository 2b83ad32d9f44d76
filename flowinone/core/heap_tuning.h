// Keeps freed memory in the process instead of handing it back to the kernel after every step.
//
// A training step frees and reallocates the same few hundred-kilobyte activation tensors
// thousands of times. With glibc's defaults each free at the top of the heap may trim it and
// each new block past the mmap threshold is mapped afresh, so the kernel zeroes new pages on
// every step: 13 % of a 2D training run's time was page faults, and setting the thresholds below
// made the `checkerboard` preset's training about 1.2x faster on the 2-core CPU (docs/results.md).
#pragma once

namespace fi {

/// Raises glibc's mmap threshold (to 32 MiB), trim threshold (256 MiB) and top pad (16 MiB).
/// Leaves the allocator alone, and returns false, when the user set any MALLOC_*_ variable that
/// the tuning would override, or when the C library is not glibc. Call once at start-up.
bool keep_freed_memory_in_process();

}  // namespace fi
