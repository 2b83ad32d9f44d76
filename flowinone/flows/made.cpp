#include "flowinone/flows/made.h"

#include <torch/nn/init.h>

#include <algorithm>

#include "flowinone/core/errors.h"

namespace fi {

std::vector<std::int64_t> natural_order(std::int64_t dim, bool reversed) {
  std::vector<std::int64_t> order(dim);
  for (std::int64_t i = 0; i < dim; ++i) order[i] = reversed ? dim - 1 - i : i;
  return order;
}

namespace {
// mask[out][in] = 1 where the connection respects the degrees.
torch::Tensor connection_mask(const std::vector<std::int64_t>& out_degrees,
                              const std::vector<std::int64_t>& in_degrees, bool strict) {
  torch::Tensor mask = torch::zeros({static_cast<std::int64_t>(out_degrees.size()),
                                     static_cast<std::int64_t>(in_degrees.size())});
  auto entries = mask.accessor<float, 2>();
  for (std::size_t o = 0; o < out_degrees.size(); ++o) {
    for (std::size_t i = 0; i < in_degrees.size(); ++i) {
      const bool connected =
          strict ? out_degrees[o] > in_degrees[i] : out_degrees[o] >= in_degrees[i];
      entries[o][i] = connected ? 1.0f : 0.0f;
    }
  }
  return mask;
}
}  // namespace

Made::Made(const MadeOptions& options) : options_(options) {
  const std::int64_t d = options.dim;
  check_arg(d >= 1, "[Made] dim must be >= 1, got ", d);
  check_arg(options.hidden >= 1, "[Made] hidden must be >= 1, got ", options.hidden);
  check_arg(options.hidden_layers >= 1, "[Made] hidden_layers must be >= 1, got ",
            options.hidden_layers);
  check_arg(options.outputs_per_dim >= 1, "[Made] outputs_per_dim must be >= 1, got ",
            options.outputs_per_dim);
  check_arg(options.condition.kind != ConditionKind::kImage,
            "[Made] an image condition is not supported");
  order_ = options.order.empty() ? natural_order(d) : options.order;
  std::vector<std::int64_t> sorted = order_;
  std::sort(sorted.begin(), sorted.end());
  check_arg(sorted == natural_order(d), "[Made] order must be a permutation of 0..", d - 1,
            ", got ", torch::IntArrayRef(order_));

  std::vector<std::int64_t> input_degrees(d);
  for (std::int64_t k = 0; k < d; ++k) input_degrees[order_[k]] = k + 1;
  std::vector<std::int64_t> hidden_degrees(options.hidden);
  const std::int64_t cycle = std::max<std::int64_t>(1, d - 1);
  for (std::int64_t u = 0; u < options.hidden; ++u) hidden_degrees[u] = u % cycle + 1;
  std::vector<std::int64_t> output_degrees;
  for (std::int64_t k = 0; k < options.outputs_per_dim; ++k) {
    output_degrees.insert(output_degrees.end(), input_degrees.begin(), input_degrees.end());
  }

  registered_ = register_module("layers", torch::nn::ModuleList());
  std::vector<std::int64_t> previous = input_degrees;
  for (int l = 0; l <= options.hidden_layers; ++l) {
    const bool is_output = l == options.hidden_layers;
    const auto& degrees = is_output ? output_degrees : hidden_degrees;
    layers_.emplace_back(static_cast<std::int64_t>(previous.size()),
                         static_cast<std::int64_t>(degrees.size()));
    registered_->push_back(layers_.back());
    masks_.push_back(register_buffer("mask" + std::to_string(l),
                                     connection_mask(degrees, previous, /*strict=*/is_output)));
    previous = degrees;
  }
  // The output starts at zero: a MAF layer starts as the identity.
  torch::nn::init::zeros_(layers_.back()->weight);
  torch::nn::init::zeros_(layers_.back()->bias);
  if (options.condition.kind != ConditionKind::kNone) {
    encoder_ = register_module("condition", std::make_shared<ConditionEncoder>(options.condition));
    condition_input_ = register_module(
        "condition_input", torch::nn::Linear(options.condition.features(), options.hidden));
  }
}

torch::Tensor Made::forward(const torch::Tensor& x, const torch::Tensor& cond) {
  check_arg(x.dim() == 2 && x.size(1) == options_.dim, "[Made] x must be (B, ", options_.dim,
            "), got ", x.sizes());
  torch::Tensor h = x;
  for (std::size_t l = 0; l < layers_.size(); ++l) {
    h = torch::linear(h, layers_[l]->weight * masks_[l], layers_[l]->bias);
    if (l == 0 && encoder_) {
      h = h + condition_input_->forward(encoder_->vector_features(cond, x.size(0)).to(x.dtype()));
    }
    if (l + 1 < layers_.size()) h = torch::relu(h);
  }
  return h.view({x.size(0), options_.outputs_per_dim, options_.dim});
}

}  // namespace fi
