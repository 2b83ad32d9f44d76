#include "flowinone/flows/coupling_network.h"

#include <torch/nn/init.h>

#include "flowinone/core/errors.h"

namespace fi {

torch::Tensor soft_clamp(const torch::Tensor& raw, double bound) {
  return bound * torch::tanh(raw / bound);
}

MlpConditioner::MlpConditioner(std::int64_t in_features, std::int64_t out_features,
                               std::int64_t hidden, int hidden_layers,
                               const ConditionOptions& condition) {
  check_arg(in_features >= 1 && out_features >= 1, "[MlpConditioner] features must be >= 1, got ",
            in_features, " -> ", out_features);
  check_arg(hidden >= 1, "[MlpConditioner] hidden must be >= 1, got ", hidden);
  check_arg(hidden_layers >= 1, "[MlpConditioner] hidden_layers must be >= 1, got ", hidden_layers);
  check_arg(condition.kind != ConditionKind::kImage,
            "[MlpConditioner] an image condition needs an image-shaped flow");
  encoder_ = register_module("condition", std::make_shared<ConditionEncoder>(condition));
  hidden_ = register_module("hidden", torch::nn::ModuleList());
  std::int64_t in = in_features + condition.features();
  for (int i = 0; i < hidden_layers; ++i) {
    layers_.emplace_back(in, hidden);
    hidden_->push_back(layers_.back());
    in = hidden;
  }
  output_ = register_module("output", torch::nn::Linear(in, out_features));
  torch::nn::init::zeros_(output_->weight);
  torch::nn::init::zeros_(output_->bias);
}

torch::Tensor MlpConditioner::forward(const torch::Tensor& x, const torch::Tensor& cond) {
  torch::Tensor h = x;
  const torch::Tensor features = encoder_->vector_features(cond, x.size(0));
  if (features.defined()) h = torch::cat({h, features.to(x.dtype())}, 1);
  for (auto& layer : layers_) h = torch::relu(layer->forward(h));
  return output_->forward(h);
}

ConvConditioner::ConvConditioner(std::int64_t in_channels, std::int64_t out_channels,
                                 std::int64_t hidden, const ConditionOptions& condition) {
  check_arg(in_channels >= 1 && out_channels >= 1, "[ConvConditioner] channels must be >= 1, got ",
            in_channels, " -> ", out_channels);
  check_arg(hidden >= 1, "[ConvConditioner] hidden must be >= 1, got ", hidden);
  encoder_ = register_module("condition", std::make_shared<ConditionEncoder>(condition));
  const std::int64_t in = in_channels + condition.features();
  input_ = register_module("input",
                           torch::nn::Conv2d(torch::nn::Conv2dOptions(in, hidden, 3).padding(1)));
  middle_ =
      register_module("middle", torch::nn::Conv2d(torch::nn::Conv2dOptions(hidden, hidden, 1)));
  output_ = register_module(
      "output", torch::nn::Conv2d(torch::nn::Conv2dOptions(hidden, out_channels, 3).padding(1)));
  torch::nn::init::zeros_(output_->weight);
  torch::nn::init::zeros_(output_->bias);
}

torch::Tensor ConvConditioner::forward(const torch::Tensor& x, const torch::Tensor& cond) {
  torch::Tensor h = x;
  const torch::Tensor features = encoder_->image_features(cond, x.size(0), x.size(2), x.size(3));
  if (features.defined()) h = torch::cat({h, features.to(x.dtype())}, 1);
  h = torch::relu(input_->forward(h));
  h = torch::relu(middle_->forward(h));
  return output_->forward(h);
}

std::shared_ptr<Conditioner> make_coupling_network(const CouplingLayerOptions& options,
                                                   std::int64_t outputs_per_element) {
  const auto& shape = options.shape;
  if (shape.size() == 1) {
    return std::make_shared<MlpConditioner>(shape[0], outputs_per_element * shape[0],
                                            options.hidden, options.hidden_layers,
                                            options.condition);
  }
  check_arg(shape.size() == 3, "[coupling] shape must be (D) or (C, H, W), got ", shape.size(),
            " dimensions");
  return std::make_shared<ConvConditioner>(shape[0], outputs_per_element * shape[0], options.hidden,
                                           options.condition);
}

}  // namespace fi
