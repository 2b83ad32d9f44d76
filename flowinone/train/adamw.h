// Adam and AdamW (Kingma & Ba 2015; Loshchilov & Hutter 2019, decoupled weight decay).
//
// Our own small optimizer rather than torch::optim::Adam: its state (step, first and second
// moments) is plain named tensors, so the whole training state fits in one safetensors checkpoint
// written atomically, identically under LibTorch 1.13 and 2.x (whose optimizer state maps differ).
//   m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2
//   p <- p - lr * wd * p  (adamw only)
//   p <- p - lr * (m / (1 - b1^k)) / (sqrt(v / (1 - b2^k)) + eps)
// With `decoupled = false` (plain Adam) weight decay is added to the gradient instead.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "flowinone/io/safetensors.h"

namespace fi {

struct AdamOptions {
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
  bool decoupled = true;  // AdamW
};

class Adam {
 public:
  Adam(std::vector<torch::Tensor> parameters, const AdamOptions& options);

  /// One update with learning rate `lr` from the parameters' current .grad().
  /// Parameters without a gradient are skipped.
  void step(double lr);
  void zero_grad();

  std::int64_t num_steps() const { return num_steps_; }
  /// State as named tensors "<prefix>m.<i>", "<prefix>v.<i>", "<prefix>step".
  NamedTensors state(const std::string& prefix) const;
  /// Restores state(); throws FileError when a tensor is missing, has the wrong shape, holds NaN or
  /// Inf, a second moment is negative or the step count is not an int64 >= 0, and then leaves this
  /// optimizer as it was.
  void load_state(const std::map<std::string, torch::Tensor>& tensors, const std::string& prefix);

 private:
  std::vector<torch::Tensor> parameters_;
  std::vector<torch::Tensor> first_moment_;
  std::vector<torch::Tensor> second_moment_;
  AdamOptions options_;
  std::int64_t num_steps_ = 0;
};

/// Whether `t` is a contiguous CPU float32 tensor: the kind the fused loops of
/// optimizer_kernels.h update in place (Adam, EMA, clipping); others take tensor operations.
bool is_plain_cpu_float(const torch::Tensor& t);

/// Global L2 norm of the gradients, and scales them down to `max_norm` when larger (max_norm > 0).
/// Returns the norm before clipping.
double clip_grad_norm(const std::vector<torch::Tensor>& parameters, double max_norm);

}  // namespace fi
