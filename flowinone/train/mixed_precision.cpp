#include "flowinone/train/mixed_precision.h"

#include <ATen/autocast_mode.h>
#include <torch/version.h>

namespace fi {

namespace {

// LibTorch 2.4 made autocast per device type; 1.13 has the CUDA-only calls.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
bool cuda_autocast_enabled() { return at::autocast::is_autocast_enabled(at::kCUDA); }
void set_cuda_autocast(bool enabled) {
  at::autocast::set_autocast_enabled(at::kCUDA, enabled);
  if (enabled) at::autocast::set_autocast_dtype(at::kCUDA, at::kBFloat16);
}
#else
bool cuda_autocast_enabled() { return at::autocast::is_enabled(); }
void set_cuda_autocast(bool enabled) {
  at::autocast::set_enabled(enabled);
  if (enabled) at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
}
#endif

}  // namespace

AutocastScope::AutocastScope(const c10::Device& device, const std::string& precision) {
  if (precision != "bf16" || !device.is_cuda()) return;
  was_enabled_ = cuda_autocast_enabled();
  set_cuda_autocast(true);
  active_ = true;
}

AutocastScope::~AutocastScope() {
  if (!active_) return;
  set_cuda_autocast(was_enabled_);
  // Autocast caches bfloat16 copies of the weights for the scope's duration; drop them, as
  // torch.autocast does on exit, or they would go stale after the optimizer step.
  if (!was_enabled_) at::autocast::clear_cache();
}

}  // namespace fi
