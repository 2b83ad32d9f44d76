#include "flowinone/flows/bijector_sequence.h"

#include "flowinone/core/errors.h"

namespace fi {

namespace {
std::string layer_label(std::size_t index, const Bijector& layer) {
  return std::to_string(index) + " (" + layer.kind() + ")";
}

bool all_finite(const torch::Tensor& t) { return torch::isfinite(t).all().item<bool>(); }
}  // namespace

BijectorSequence::BijectorSequence(std::vector<BijectorPtr> layers) : layers_(std::move(layers)) {
  registered_ = register_module("layers", torch::nn::ModuleList());
  for (const auto& layer : layers_) {
    check_arg(layer != nullptr, "[BijectorSequence] null layer");
    registered_->push_back(layer);
  }
}

BijectorOutput BijectorSequence::forward(const torch::Tensor& x, const torch::Tensor& cond) {
  torch::Tensor h = x;
  torch::Tensor logdet = zero_logdet(x);
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    BijectorOutput out;
    if (!check_each_layer_) {
      out = layers_[i]->forward(h, cond);
    } else {
      try {
        out = layers_[i]->forward(h, cond);
      } catch (const NonFiniteError& inner) {
        throw NonFiniteError(layer_label(i, *layers_[i]) + " > " + inner.layer(), inner.quantity());
      }
      if (!all_finite(out.z)) throw NonFiniteError(layer_label(i, *layers_[i]), "output");
      if (!all_finite(out.logdet)) {
        throw NonFiniteError(layer_label(i, *layers_[i]), "log-determinant");
      }
    }
    h = out.z;
    logdet = logdet + out.logdet;
  }
  return {h, logdet};
}

torch::Tensor BijectorSequence::inverse(const torch::Tensor& z, const torch::Tensor& cond) {
  torch::Tensor h = z;
  for (std::size_t i = layers_.size(); i-- > 0;) {
    if (!check_each_layer_) {
      h = layers_[i]->inverse(h, cond);
      continue;
    }
    try {
      h = layers_[i]->inverse(h, cond);
    } catch (const NonFiniteError& inner) {
      throw NonFiniteError(layer_label(i, *layers_[i]) + " > " + inner.layer(), inner.quantity());
    }
    if (!all_finite(h)) throw NonFiniteError(layer_label(i, *layers_[i]), "inverse output");
  }
  return h;
}

std::vector<std::int64_t> BijectorSequence::output_shape(
    const std::vector<std::int64_t>& input) const {
  std::vector<std::int64_t> shape = input;
  for (const auto& layer : layers_) shape = layer->output_shape(shape);
  return shape;
}

}  // namespace fi
