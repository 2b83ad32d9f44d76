// Process-wide runtime settings: thread count and device choice.
#pragma once

#include <c10/core/Device.h>

#include <string>

namespace fi {

/// Sets LibTorch's intra-op threads; `num_threads` <= 0 means one per core.
/// LibTorch 1.13 starts with one thread, so every program calls this at start-up.
void set_num_threads(int num_threads);

/// Whether this build of LibTorch can reach a CUDA device.
bool cuda_available();

/// Parses "cpu", "cuda", "cuda:N" or "auto" (cuda when available, else cpu).
/// Throws std::invalid_argument for another name or for cuda without a GPU.
c10::Device parse_device(const std::string& name);

/// "LibTorch 1.13.1, CUDA available: no" and the like, for --version.
std::string runtime_description();

}  // namespace fi
