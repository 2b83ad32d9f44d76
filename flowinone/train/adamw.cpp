#include "flowinone/train/adamw.h"

#include <cmath>

#include "flowinone/core/errors.h"
#include "flowinone/train/optimizer_kernels.h"

namespace fi {

bool is_plain_cpu_float(const torch::Tensor& t) {
  return t.device().is_cpu() && t.scalar_type() == torch::kFloat32 && t.is_contiguous();
}

Adam::Adam(std::vector<torch::Tensor> parameters, const AdamOptions& options)
    : parameters_(std::move(parameters)), options_(options) {
  check_arg(options.beta1 >= 0 && options.beta1 < 1, "[Adam] beta1 must be in [0, 1), got ",
            options.beta1);
  check_arg(options.beta2 >= 0 && options.beta2 < 1, "[Adam] beta2 must be in [0, 1), got ",
            options.beta2);
  check_arg(options.eps > 0, "[Adam] eps must be > 0, got ", options.eps);
  check_arg(options.weight_decay >= 0, "[Adam] weight_decay must be >= 0, got ",
            options.weight_decay);
  for (const auto& p : parameters_) {
    first_moment_.push_back(torch::zeros_like(p, torch::MemoryFormat::Preserve));
    second_moment_.push_back(torch::zeros_like(p, torch::MemoryFormat::Preserve));
  }
}

void Adam::step(double lr) {
  torch::NoGradGuard no_grad;
  ++num_steps_;
  const double correction1 = 1.0 - std::pow(options_.beta1, static_cast<double>(num_steps_));
  const double correction2 = 1.0 - std::pow(options_.beta2, static_cast<double>(num_steps_));
  const double step_size = lr / correction1;
  const double sqrt_correction2 = std::sqrt(correction2);
  const AdamCoefficients coefficients{
      static_cast<float>(options_.beta1),
      static_cast<float>(options_.beta2),
      static_cast<float>(step_size),
      static_cast<float>(sqrt_correction2),
      static_cast<float>(options_.eps),
      static_cast<float>(options_.decoupled ? 1.0 - lr * options_.weight_decay : 1.0),
      static_cast<float>(options_.decoupled ? 0.0 : options_.weight_decay)};
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    torch::Tensor& p = parameters_[i];
    if (!p.grad().defined()) continue;
    torch::Tensor grad = p.grad();
    if (is_plain_cpu_float(p) && is_plain_cpu_float(grad) && is_plain_cpu_float(first_moment_[i]) &&
        is_plain_cpu_float(second_moment_[i])) {
      adam_update(p.data_ptr<float>(), grad.data_ptr<float>(), first_moment_[i].data_ptr<float>(),
                  second_moment_[i].data_ptr<float>(), p.numel(), coefficients);
      continue;
    }
    if (options_.weight_decay > 0) {
      if (options_.decoupled) {
        p.mul_(1.0 - lr * options_.weight_decay);
      } else {
        grad = grad.add(p, options_.weight_decay);
      }
    }
    first_moment_[i].mul_(options_.beta1).add_(grad, 1.0 - options_.beta1);
    second_moment_[i].mul_(options_.beta2).addcmul_(grad, grad, 1.0 - options_.beta2);
    const torch::Tensor denominator =
        (second_moment_[i].sqrt() / sqrt_correction2).add_(options_.eps);
    p.addcdiv_(first_moment_[i], denominator, -step_size);
  }
}

void Adam::zero_grad() {
  for (auto& p : parameters_) {
    if (p.grad().defined()) {
      p.mutable_grad().detach_();
      p.mutable_grad().zero_();
    }
  }
}

NamedTensors Adam::state(const std::string& prefix) const {
  NamedTensors tensors;
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    tensors.emplace_back(prefix + "m." + std::to_string(i), first_moment_[i]);
    tensors.emplace_back(prefix + "v." + std::to_string(i), second_moment_[i]);
  }
  tensors.emplace_back(prefix + "step", torch::tensor({num_steps_}, torch::kInt64));
  return tensors;
}

void Adam::load_state(const std::map<std::string, torch::Tensor>& tensors,
                      const std::string& prefix) {
  auto fetch = [&](const std::string& name, const torch::Tensor& like) {
    auto it = tensors.find(name);
    check_file(it != tensors.end(), "[Adam::load_state] checkpoint lacks '", name, "'");
    check_file(it->second.sizes() == like.sizes(), "[Adam::load_state] '", name, "' has shape ",
               it->second.sizes(), ", expected ", like.sizes());
    torch::Tensor value = it->second.to(like.device(), like.scalar_type());
    check_file(torch::isfinite(value).all().item<bool>(), "[Adam::load_state] '", name,
               "' holds non-finite values (NaN or Inf)");
    return value;
  };
  // The step is checked before any moment is copied, so a refused state leaves this one as it was.
  const std::string step_name = prefix + "step";
  const auto step = tensors.find(step_name);
  check_file(step != tensors.end() && step->second.scalar_type() == torch::kInt64 &&
                 step->second.numel() == 1,
             "[Adam::load_state] checkpoint lacks '", step_name, "' as one int64");
  const std::int64_t num_steps = step->second.item<std::int64_t>();
  check_file(num_steps >= 0, "[Adam::load_state] '", step_name, "' is ", num_steps,
             ", expected a count >= 0");
  std::vector<torch::Tensor> first, second;
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    const std::string v_name = prefix + "v." + std::to_string(i);
    first.push_back(fetch(prefix + "m." + std::to_string(i), first_moment_[i]));
    second.push_back(fetch(v_name, second_moment_[i]));
    // A negative second moment makes sqrt(v) NaN at the next step.
    check_file(!(second.back() < 0).any().item<bool>(), "[Adam::load_state] '", v_name,
               "' holds negative values; second moments are squares");
  }
  torch::NoGradGuard no_grad;
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    first_moment_[i].copy_(first[i]);
    second_moment_[i].copy_(second[i]);
  }
  num_steps_ = num_steps;
}

double clip_grad_norm(const std::vector<torch::Tensor>& parameters, double max_norm) {
  torch::NoGradGuard no_grad;
  // CPU float gradients are summed on the host in one pass; others as tensors, so only their
  // total crosses to the host.
  double host_sum = 0.0;
  std::vector<torch::Tensor> device_sums;
  for (const auto& p : parameters) {
    const torch::Tensor& grad = p.grad();
    if (!grad.defined()) continue;
    if (is_plain_cpu_float(grad)) {
      host_sum += sum_of_squares(grad.data_ptr<float>(), grad.numel());
    } else {
      device_sums.push_back(grad.to(torch::kFloat64).square().sum());
    }
  }
  const double total = std::sqrt(
      host_sum + (device_sums.empty() ? 0.0 : torch::stack(device_sums).sum().item<double>()));
  if (max_norm > 0 && total > max_norm) {
    const double scale = max_norm / (total + 1e-6);
    for (const auto& p : parameters) {
      const torch::Tensor& grad = p.grad();
      if (!grad.defined()) continue;
      if (is_plain_cpu_float(grad)) {
        scale_in_place(grad.data_ptr<float>(), grad.numel(), static_cast<float>(scale));
      } else {
        grad.mul_(scale);
      }
    }
  }
  return total;
}

}  // namespace fi
