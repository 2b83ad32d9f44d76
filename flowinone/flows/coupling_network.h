// The networks inside coupling layers and split priors, and the options the couplings share.
//
//   MlpConditioner   vectors: x (B, D) [+ condition features] -> (B, out); `hidden_layers`
//                    ReLU layers of `hidden` units.
//   ConvConditioner  images: x (B, C, H, W) [+ condition channels] -> (B, out, H, W);
//                    conv 3x3 -> ReLU -> conv 1x1 -> ReLU -> conv 3x3, as in Glow.
// The last layer starts at zero, so every coupling starts as the identity (Glow's choice): deep
// stacks then train from a well-conditioned start instead of a random composition of maps.
//
// soft_clamp bounds the log-scales of affine layers: s = bound * tanh(raw / bound). It is the
// identity for small raw values and keeps |s| < bound, so one step cannot make exp(s) overflow
// (or collapse to 0) and turn the log-determinant or the inverse into inf or NaN, while the
// gradient never vanishes abruptly as with a hard clamp.
#pragma once

#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "flowinone/flows/condition.h"
#include "flowinone/flows/coupling_mask.h"

namespace fi {

/// bound * tanh(raw / bound): |result| < bound, slope 1 at 0.
torch::Tensor soft_clamp(const torch::Tensor& raw, double bound);

/// What a coupling layer (additive or affine) is built from.
struct CouplingLayerOptions {
  std::vector<std::int64_t> shape = {2};  // per sample: (D) vectors or (C, H, W) images
  MaskKind mask = MaskKind::kHalf;
  bool flip = false;         // swap the roles of the two parts
  std::int64_t hidden = 64;  // hidden units (vectors) or channels (images)
  int hidden_layers = 2;     // MLP hidden layers (vectors only)
  double scale_bound = 3.0;  // affine only: |log-scale| < scale_bound (soft_clamp)
  ConditionOptions condition;
};

class Conditioner : public torch::nn::Module {
 public:
  /// x (B, ...) and the layer's condition -> the network's output.
  virtual torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& cond) = 0;
};

class MlpConditioner : public Conditioner {
 public:
  MlpConditioner(std::int64_t in_features, std::int64_t out_features, std::int64_t hidden,
                 int hidden_layers, const ConditionOptions& condition);
  /// x (B, in_features) -> (B, out_features).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& cond) override;

 private:
  std::shared_ptr<ConditionEncoder> encoder_;
  torch::nn::ModuleList hidden_{nullptr};
  std::vector<torch::nn::Linear> layers_;
  torch::nn::Linear output_{nullptr};
};

class ConvConditioner : public Conditioner {
 public:
  ConvConditioner(std::int64_t in_channels, std::int64_t out_channels, std::int64_t hidden,
                  const ConditionOptions& condition);
  /// x (B, in_channels, H, W) -> (B, out_channels, H, W).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& cond) override;

 private:
  std::shared_ptr<ConditionEncoder> encoder_;
  torch::nn::Conv2d input_{nullptr};
  torch::nn::Conv2d middle_{nullptr};
  torch::nn::Conv2d output_{nullptr};
};

/// The network for a coupling over `options.shape` whose output has `outputs_per_element`
/// values per element of x: (B, k*D) for vectors, (B, k*C, H, W) for images.
std::shared_ptr<Conditioner> make_coupling_network(const CouplingLayerOptions& options,
                                                   std::int64_t outputs_per_element);

}  // namespace fi
