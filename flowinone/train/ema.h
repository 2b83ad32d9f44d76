// Exponential moving average of model weights, the weights we sample from.
//   shadow <- d * shadow + (1 - d) * param,  d = min(decay, (1 + k) / (10 + k)) at update k,
// so early averages are not dominated by the random initialization.
#pragma once

#include <torch/types.h>

#include <map>
#include <string>
#include <vector>

#include "flowinone/io/safetensors.h"

namespace fi {

class Ema {
 public:
  /// Starts from a copy of `parameters`' values.
  Ema(const std::vector<torch::Tensor>& parameters, double decay);

  void update(const std::vector<torch::Tensor>& parameters);
  const std::vector<torch::Tensor>& shadow() const { return shadow_; }
  /// Copies the averaged weights into `parameters`.
  void copy_to(const std::vector<torch::Tensor>& parameters) const;

  /// Updates made so far (one per training step).
  std::int64_t num_updates() const { return num_updates_; }

  NamedTensors state(const std::string& prefix) const;
  /// Restores state(); throws FileError when a tensor is missing, has the wrong shape or type, or
  /// the count is negative, and then leaves this average as it was.
  void load_state(const std::map<std::string, torch::Tensor>& tensors, const std::string& prefix);

 private:
  std::vector<torch::Tensor> shadow_;
  double decay_;
  std::int64_t num_updates_ = 0;
};

}  // namespace fi
