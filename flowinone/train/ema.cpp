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
  torch::NoGradGuard no_grad;
  for (std::size_t i = 0; i < shadow_.size(); ++i) {
    auto it = tensors.find(prefix + std::to_string(i));
    check_file(it != tensors.end(), "[Ema::load_state] checkpoint lacks '", prefix, i, "'");
    check_file(it->second.sizes() == shadow_[i].sizes(), "[Ema::load_state] '", prefix, i,
               "' has shape ", it->second.sizes(), ", expected ", shadow_[i].sizes());
    shadow_[i].copy_(it->second);
  }
  auto it = tensors.find(prefix + "num_updates");
  check_file(it != tensors.end(), "[Ema::load_state] checkpoint lacks '", prefix, "num_updates'");
  num_updates_ = it->second.item<std::int64_t>();
}

}  // namespace fi
