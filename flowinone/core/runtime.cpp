#include "flowinone/core/runtime.h"

#include <ATen/Parallel.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include <thread>

#include "flowinone/core/errors.h"

namespace fi {

void set_num_threads(int num_threads) {
  if (num_threads <= 0) num_threads = static_cast<int>(std::thread::hardware_concurrency());
  if (num_threads <= 0) num_threads = 1;
  at::set_num_threads(num_threads);
}

bool cuda_available() { return torch::cuda::is_available(); }

c10::Device parse_device(const std::string& name) {
  if (name == "auto") return cuda_available() ? c10::Device(c10::kCUDA, 0) : c10::Device(c10::kCPU);
  if (name == "cpu") return c10::Device(c10::kCPU);
  if (name == "cuda" || name.rfind("cuda:", 0) == 0) {
    check_arg(cuda_available(), "[device] '", name,
              "' asked for, but this build of LibTorch sees no CUDA device");
    return name == "cuda" ? c10::Device(c10::kCUDA, 0) : c10::Device(name);
  }
  throw std::invalid_argument("[device] unknown device '" + name +
                              "' (valid: auto, cpu, cuda, cuda:N)");
}

std::string runtime_description() {
  std::string text = "LibTorch " + std::string(TORCH_VERSION) + ", CUDA available: ";
  text +=
      cuda_available() ? "yes (" + std::to_string(torch::cuda::device_count()) + " devices)" : "no";
  return text;
}

}  // namespace fi
