#include "flowinone/flows/flow.h"

#include <cmath>
#include <functional>

#include "flowinone/core/errors.h"
#include "flowinone/flows/dequantize.h"

namespace fi {

Flow::Flow(std::vector<BijectorPtr> layers, std::vector<std::int64_t> event_shape)
    : event_shape_(std::move(event_shape)) {
  check_arg(!event_shape_.empty(), "[Flow] event_shape must not be empty");
  for (const auto d : event_shape_) check_arg(d >= 1, "[Flow] event_shape entries must be >= 1");
  layers_ = register_module("flow", std::make_shared<BijectorSequence>(std::move(layers)));
  latent_shape_ = layers_->output_shape(event_shape_);
}

void Flow::check_input(const torch::Tensor& x, const std::vector<std::int64_t>& shape,
                       const char* what) const {
  bool ok = x.defined() && x.dim() == static_cast<std::int64_t>(shape.size()) + 1;
  for (std::size_t i = 0; ok && i < shape.size(); ++i) ok = x.size(i + 1) == shape[i];
  check_arg(ok, "[Flow] ", what, " must be (B, ", torch::IntArrayRef(shape), "), got ",
            x.defined() ? x.sizes() : torch::IntArrayRef{});
}

void Flow::set_check_each_layer(bool on) {
  for (const auto& module : modules()) {
    if (auto sequence = std::dynamic_pointer_cast<BijectorSequence>(module)) {
      sequence->set_check_each_layer(on);
    }
  }
}

void Flow::set_dequantization_generator(const at::Generator& generator) {
  for (const auto& module : modules()) {
    if (auto dequantize = std::dynamic_pointer_cast<Dequantize>(module)) {
      dequantize->set_generator(generator);
    }
  }
}

torch::Device Flow::device() const {
  for (const auto& p : parameters()) return p.device();
  for (const auto& b : buffers()) return b.device();
  return torch::kCPU;
}

namespace {
// Turns per-layer checks off again however the diagnosis ends.
struct LayerChecks {
  explicit LayerChecks(std::function<void(bool)> set) : set_(std::move(set)) { set_(true); }
  ~LayerChecks() { set_(false); }
  std::function<void(bool)> set_;
};
}  // namespace

BijectorOutput Flow::forward(const torch::Tensor& x, const torch::Tensor& cond) {
  check_input(x, event_shape_, "x");
  BijectorOutput out = layers_->forward(x, cond);
  if (check_finite_ &&
      !(torch::isfinite(out.z).all() & torch::isfinite(out.logdet).all()).item<bool>()) {
    LayerChecks checks([this](bool on) { set_check_each_layer(on); });
    torch::NoGradGuard no_grad;
    layers_->forward(x, cond);  // throws NonFiniteError naming the layer
    throw std::runtime_error(
        "[flow] non-finite output of forward that a layer-by-layer rerun did not reproduce");
  }
  return out;
}

torch::Tensor Flow::log_prob(const torch::Tensor& x, const torch::Tensor& cond) {
  const BijectorOutput out = forward(x, cond);
  const double dims = static_cast<double>(shape_numel(latent_shape_));
  const torch::Tensor base =
      -0.5 * out.z.flatten(1).pow(2).sum(1) - 0.5 * dims * std::log(2.0 * M_PI);
  return base + out.logdet;
}

torch::Tensor Flow::inverse(const torch::Tensor& z, const torch::Tensor& cond) {
  check_input(z, latent_shape_, "z");
  torch::Tensor x = layers_->inverse(z, cond);
  if (check_finite_ && !torch::isfinite(x).all().item<bool>()) {
    LayerChecks checks([this](bool on) { set_check_each_layer(on); });
    torch::NoGradGuard no_grad;
    layers_->inverse(z, cond);
    throw std::runtime_error(
        "[flow] non-finite output of inverse that a layer-by-layer rerun did not reproduce");
  }
  return x;
}

torch::Tensor Flow::sample(std::int64_t n, double temperature, at::Generator& generator,
                           const torch::Tensor& cond) {
  check_arg(n >= 1, "[Flow::sample] n must be >= 1, got ", n);
  check_arg(temperature >= 0 && std::isfinite(temperature),
            "[Flow::sample] temperature must be finite and >= 0, got ", temperature);
  check_arg(!cond.defined() || (cond.dim() >= 1 && cond.size(0) == n),
            "[Flow::sample] cond must have batch ", n);
  torch::NoGradGuard no_grad;
  std::vector<std::int64_t> shape = {n};
  shape.insert(shape.end(), latent_shape_.begin(), latent_shape_.end());
  torch::Tensor dtype_source;
  for (const auto& p : parameters()) {
    dtype_source = p;
    break;
  }
  const auto dtype = dtype_source.defined() ? dtype_source.scalar_type() : torch::kFloat32;
  const torch::Tensor z =
      (torch::randn(shape, generator, torch::TensorOptions().dtype(dtype)) * temperature)
          .to(device());
  return inverse(z, cond);
}

void Flow::initialize(const torch::Tensor& x, const torch::Tensor& cond) {
  torch::NoGradGuard no_grad;
  forward(x, cond);
}

}  // namespace fi
