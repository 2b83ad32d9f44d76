// Mixed precision for the forward pass: with precision = bf16 on a CUDA device, operations that
// gain from it (matrix products, convolutions) run in bfloat16 under torch's autocast, the rest
// in float32; weights, gradients and the optimizer stay float32. bfloat16 has float32's exponent
// range, so no loss scaling is needed. On the CPU the forward stays float32: LibTorch's CPU
// bfloat16 kernels are slower than its float32 ones on the machines we run.
#pragma once

#include <c10/core/Device.h>

#include <string>

namespace fi {

/// Autocast on for its lifetime when `precision` is "bf16" and `device` is CUDA; otherwise it
/// does nothing. Restores the previous autocast state on destruction.
class AutocastScope {
 public:
  AutocastScope(const c10::Device& device, const std::string& precision);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

  /// Whether this scope turned autocast on.
  bool active() const { return active_; }

 private:
  bool active_ = false;
  bool was_enabled_ = false;
};

}  // namespace fi
