#include "flowinone/models/mlp.h"

#include <torch/nn/functional/activation.h>

#include "flowinone/core/errors.h"
#include "flowinone/core/named_values.h"
#include "flowinone/models/time_embedding.h"

namespace fi {

namespace {
constexpr NamedValue<Activation> kActivationNames[] = {{Activation::kSilu, "silu"},
                                                       {Activation::kRelu, "relu"},
                                                       {Activation::kGelu, "gelu"},
                                                       {Activation::kTanh, "tanh"}};
}  // namespace

Activation parse_activation(const std::string& name) {
  return parse_named(kActivationNames, name, "activation");
}

std::string to_string(Activation activation) { return name_of(kActivationNames, activation); }

namespace {
torch::Tensor activate(Activation activation, const torch::Tensor& x) {
  switch (activation) {
    case Activation::kSilu:
      return torch::silu(x);
    case Activation::kRelu:
      return torch::relu(x);
    case Activation::kGelu:
      return torch::gelu(x);
    case Activation::kTanh:
      return torch::tanh(x);
  }
  return x;
}
}  // namespace

MlpVelocity::MlpVelocity(const MlpOptions& options) : options_(options) {
  check_arg(options.dim >= 1, "[MlpVelocity] dim must be >= 1, got ", options.dim);
  check_arg(options.width >= 1, "[MlpVelocity] width must be >= 1, got ", options.width);
  check_arg(options.depth >= 1, "[MlpVelocity] depth must be >= 1, got ", options.depth);
  check_arg(options.time_dim >= 2 && options.time_dim % 2 == 0,
            "[MlpVelocity] time_dim must be even and >= 2, got ", options.time_dim);
  check_arg(options.fourier_features >= 0, "[MlpVelocity] fourier_features must be >= 0, got ",
            options.fourier_features);
  check_arg(options.fourier_scale > 0, "[MlpVelocity] fourier_scale must be > 0, got ",
            options.fourier_scale);
  if (options.fourier_features > 0) {
    fourier_frequencies_ = register_buffer(
        "fourier_frequencies",
        torch::randn({options.dim, options.fourier_features}) * options.fourier_scale);
  }
  hidden_ = register_module("hidden", torch::nn::ModuleList());
  std::int64_t in = options.dim + 2 * options.fourier_features + options.time_dim;
  for (int layer = 0; layer < options.depth; ++layer) {
    layers_.emplace_back(in, options.width);
    hidden_->push_back(layers_.back());
    in = options.width;
  }
  output_ = register_module("output", torch::nn::Linear(in, options.dim));
}

torch::Tensor MlpVelocity::forward(const torch::Tensor& x, const torch::Tensor& t) {
  check_arg(x.dim() == 2 && x.size(1) == options_.dim, "[MlpVelocity] x must be (B, ", options_.dim,
            "), got ", x.sizes());
  std::vector<torch::Tensor> inputs = {x};
  if (fourier_frequencies_.defined()) {
    const torch::Tensor angles =
        (2.0 * M_PI) * torch::matmul(x, fourier_frequencies_.to(x.dtype()));
    inputs.push_back(torch::sin(angles));
    inputs.push_back(torch::cos(angles));
  }
  inputs.push_back(sinusoidal_time_embedding(t, options_.time_dim).to(x.dtype()));
  torch::Tensor h = torch::cat(inputs, 1);
  for (auto& layer : layers_) h = activate(options_.activation, layer->forward(h));
  return output_->forward(h);
}

}  // namespace fi
