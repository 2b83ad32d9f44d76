#include "flowinone/train/ema.h"

#include <algorithm>

#include "flowinone/core/errors.h"
#include "flowinone/train/adamw.h"
#include "flowinone/train/optimizer_kernels.h"

namespace fi {

Ema::Ema(const std::vector<torch::Tensor>& parameters, double decay) : decay_(decay) {
  check_arg(decay >= 0 && decay < 1, "[Ema] decay must be in [0, 1), got ", decay);
  torch::NoGradGuard no_grad;
  for (const auto& p : parameters) shadow_.push_back(p.detach().clone());
}

void Ema::update(const std::vector<torch::Tensor>& parameters) {
  torch::NoGradGuard no_grad;
  const double k = static_cast<double>(num_updates_++);
  const double decay = std::min(decay_, (1.0 + k) / (10.0 + k));
  for (std::size_t i = 0; i < shadow_.size(); ++i) {
    const torch::Tensor& p = parameters[i];
    if (is_plain_cpu_float(p) && is_plain_cpu_float(shadow_[i])) {
      ema_update(shadow_[i].data_ptr<float>(), p.data_ptr<float>(), p.numel(),
                 static_cast<float>(decay));
    } else {
      shadow_[i].mul_(decay).add_(p.detach(), 1.0 - decay);
    }
  }
}

void Ema::copy_to(const std::vector<torch::Tensor>& parameters) const {
  torch::NoGradGuard no_grad;
  for (std::size_t i = 0; i < shadow_.size(); ++i) parameters[i].copy_(shadow_[i]);
}

NamedTensors Ema::state(const std::string& prefix) const {
  NamedTensors tensors;
  for (std::size_t i = 0; i < shadow_.size(); ++i) {
    tensors.emplace_back(prefix + std::to_string(i), shadow_[i]);
  }
  tensors.emplace_back(prefix + "num_updates", torch::tensor({num_updates_}, torch::kInt64));
  return tensors;
}

void Ema::load_state(const std::map<std::string, torch::Tensor>& tensors,
                     const std::string& prefix) {
  // Everything is checked before anything is copied: a refused state leaves this one as it was.
  const std::string count_name = prefix + "num_updates";
  const auto count = tensors.find(count_name);
  check_file(count != tensors.end() && count->second.scalar_type() == torch::kInt64 &&
                 count->second.numel() == 1,
             "[Ema::load_state] checkpoint lacks '", count_name, "' as one int64");
  const std::int64_t num_updates = count->second.item<std::int64_t>();
  check_file(num_updates >= 0, "[Ema::load_state] '", count_name, "' is ", num_updates,
             ", expected a count >= 0");
  for (std::size_t i = 0; i < shadow_.size(); ++i) {
    auto it = tensors.find(prefix + std::to_string(i));
    check_file(it != tensors.end(), "[Ema::load_state] checkpoint lacks '", prefix, i, "'");
    check_file(it->second.sizes() == shadow_[i].sizes(), "[Ema::load_state] '", prefix, i,
               "' has shape ", it->second.sizes(), ", expected ", shadow_[i].sizes());
    check_file(it->second.is_floating_point(), "[Ema::load_state] '", prefix, i, "' has dtype ",
               it->second.scalar_type(), ", expected a floating type");
  }
  torch::NoGradGuard no_grad;
  for (std::size_t i = 0; i < shadow_.size(); ++i)
    shadow_[i].copy_(tensors.at(prefix + std::to_string(i)));
  num_updates_ = num_updates;
}

}  // namespace fi
