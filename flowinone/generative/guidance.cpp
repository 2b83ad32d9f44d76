#include "flowinone/generative/guidance.h"

#include <cmath>

#include "flowinone/core/errors.h"

namespace fi {

namespace {

c10::Device model_device(const VelocityModelPtr& model) {
  const auto parameters = model->parameters();
  return parameters.empty() ? c10::Device(c10::kCPU) : parameters[0].device();
}

Conditioning to_device(const Conditioning& cond, const c10::Device& device) {
  Conditioning moved;
  if (cond.labels.defined()) moved.labels = cond.labels.to(device);
  if (cond.image.defined()) moved.image = cond.image.to(device);
  return moved;
}

void check_batch(const Conditioning& cond, std::int64_t batch) {
  check_arg(!cond.labels.defined() || (cond.labels.dim() == 1 && cond.labels.size(0) == batch),
            "[guidance] labels must be (", batch, ") for a batch of ", batch, ", got ",
            cond.labels.defined() ? cond.labels.sizes() : torch::IntArrayRef{});
  check_arg(!cond.image.defined() || (cond.image.dim() >= 1 && cond.image.size(0) == batch),
            "[guidance] condition image must have a batch of ", batch, ", got ",
            cond.image.defined() ? cond.image.sizes() : torch::IntArrayRef{});
}

// The conditional and unconditional halves stacked on the batch: [cond; uncond].
Conditioning stack_conditions(const Conditioning& cond, const Conditioning& uncond) {
  Conditioning stacked;
  if (cond.labels.defined() || uncond.labels.defined()) {
    const auto& reference = cond.labels.defined() ? cond.labels : uncond.labels;
    const auto null = torch::full_like(reference, -1);
    stacked.labels = torch::cat({cond.labels.defined() ? cond.labels : null,
                                 uncond.labels.defined() ? uncond.labels : null});
  }
  if (cond.image.defined()) stacked.image = torch::cat({cond.image, uncond.image});
  return stacked;
}

// Calls `evaluate(input, times)` without gradients on the model's device, for x anywhere.
template <typename Evaluate>
torch::Tensor on_device(const c10::Device& device, const torch::Tensor& x, double t,
                        std::int64_t repeats, Evaluate evaluate) {
  torch::NoGradGuard no_grad;
  const torch::Tensor input = x.device() == device ? x : x.to(device);
  const torch::Tensor times =
      torch::full({repeats * x.size(0)}, t, input.options().dtype(torch::kFloat32));
  const torch::Tensor velocity = evaluate(input, times);
  return x.device() == device ? velocity : velocity.to(x.device());
}

}  // namespace

Conditioning null_labels(const Conditioning& cond) {
  Conditioning result = cond;
  if (cond.labels.defined()) result.labels = torch::full_like(cond.labels, -1);
  return result;
}

Conditioning null_condition(const Conditioning& cond) {
  Conditioning result = null_labels(cond);
  if (cond.image.defined()) result.image = torch::zeros_like(cond.image);
  return result;
}

VelocityFn conditional_velocity(const VelocityModelPtr& model, const Conditioning& cond) {
  check_arg(model != nullptr, "[guidance] no model");
  const c10::Device device = model_device(model);
  const Conditioning on_model = to_device(cond, device);
  return [model, device, on_model](const torch::Tensor& x, double t) {
    check_batch(on_model, x.size(0));
    return on_device(device, x, t, 1, [&](const torch::Tensor& input, const torch::Tensor& times) {
      return model->forward(input, times, on_model);
    });
  };
}

VelocityFn guided_velocity(const VelocityModelPtr& model, const Conditioning& cond,
                           const Conditioning& uncond, double weight) {
  check_arg(std::isfinite(weight), "[guidance] the guidance weight must be finite, got ", weight);
  check_arg(cond.image.defined() == uncond.image.defined(),
            "[guidance] the conditional and unconditional conditions must both have an image or ",
            "neither");
  if (weight == 0.0) return conditional_velocity(model, uncond);
  if (weight == 1.0) return conditional_velocity(model, cond);
  const c10::Device device = model_device(model);
  const Conditioning stacked = to_device(stack_conditions(cond, uncond), device);
  return [model, device, stacked, weight](const torch::Tensor& x, double t) {
    check_batch(stacked, 2 * x.size(0));
    return on_device(device, x, t, 2, [&](const torch::Tensor& input, const torch::Tensor& times) {
      const auto halves = model->forward(torch::cat({input, input}), times, stacked).chunk(2);
      const torch::Tensor& v_cond = halves[0];
      const torch::Tensor& v_uncond = halves[1];
      return v_uncond + weight * (v_cond - v_uncond);
    });
  };
}

VelocityFn classifier_free_guidance(const VelocityModelPtr& model, const torch::Tensor& labels,
                                    double weight) {
  check_arg(labels.defined(), "[guidance] classifier-free guidance needs labels");
  Conditioning cond;
  cond.labels = labels;
  return guided_velocity(model, cond, null_labels(cond), weight);
}

}  // namespace fi
