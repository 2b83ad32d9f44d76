// MLP velocity model for low-dimensional data (the 2D cases):
//   v(x, t) = Linear(act(... act(Linear([x, phi(x), emb(t)]))))
// with `depth` hidden layers of `width` units and the sinusoidal time embedding of size time_dim.
// phi(x) = [sin(2 pi x B), cos(2 pi x B)] are optional random Fourier features (Tancik et al.
// 2020, "Fourier features let networks learn high frequency functions"): B is (dim, F) with
// N(0, fourier_scale^2) entries, drawn once at construction and kept as a buffer, so that saved
// models reload exactly. They let a small MLP represent sharp edges (the checkerboard's) that a
// plain MLP on raw coordinates learns only slowly.
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
  std::int64_t dim = 2;      // data dimension
  std::int64_t width = 256;  // hidden units per layer
  int depth = 4;             // hidden layers (>= 1)
  int time_dim = 32;         // size of the time embedding (even)
  Activation activation = Activation::kSilu;
  int fourier_features = 0;    // F; 0 = raw coordinates only
  double fourier_scale = 1.0;  // std of the frequencies, in cycles per unit of x
};

class MlpVelocity : public VelocityModel {
 public:
  explicit MlpVelocity(const MlpOptions& options);
  /// x (B, dim), t (B) -> (B, dim).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t) override;
  const MlpOptions& options() const { return options_; }

 private:
  MlpOptions options_;
  torch::nn::ModuleList hidden_{nullptr};  // registers the layers as hidden.0, hidden.1, ...
  std::vector<torch::nn::Linear> layers_;  // the same layers, typed, for forward()
  torch::Tensor fourier_frequencies_;      // (dim, F) buffer, undefined when F = 0
  torch::nn::Linear output_{nullptr};
};

}  // namespace fi
