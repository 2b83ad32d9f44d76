// MLP velocity model for low-dimensional data (the 2D cases):
//   v(x, t) = Linear(act(... act(Linear([x, emb(t)]))))
// with `depth` hidden layers of `width` units and the sinusoidal time embedding of size time_dim.
#pragma once

#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <string>
#include <vector>

#include "flowinone/models/velocity_model.h"

namespace fi {

enum class Activation { kSilu, kRelu, kGelu, kTanh };
/// "silu", "relu", "gelu", "tanh"; throws std::invalid_argument listing the valid names.
Activation parse_activation(const std::string& name);
std::string to_string(Activation activation);

struct MlpOptions {
  std::int64_t dim = 2;       // data dimension
  std::int64_t width = 256;   // hidden units per layer
  int depth = 4;              // hidden layers (>= 1)
  int time_dim = 32;          // size of the time embedding (even)
  Activation activation = Activation::kSilu;
};

class MlpVelocity : public VelocityModel {
 public:
  explicit MlpVelocity(const MlpOptions& options);
  /// x (B, dim), t (B) -> (B, dim).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t) override;
  const MlpOptions& options() const { return options_; }

 private:
  MlpOptions options_;
  torch::nn::ModuleList hidden_{nullptr};     // registers the layers as hidden.0, hidden.1, ...
  std::vector<torch::nn::Linear> layers_;     // the same layers, typed, for forward()
  torch::nn::Linear output_{nullptr};
};

}  // namespace fi
