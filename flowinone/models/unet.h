// The image UNet velocity model v(x, t, cond) (Ronneberger et al. 2015, in the form of Ho et al.
// 2020 and Dhariwal and Nichol 2021, as in torchcfm's MNIST and CIFAR-10 examples).
//
//   emb  = MLP(sinusoidal(t)) [+ Embedding(label)]       (B, 4 * base_channels)
//   h    = conv3x3([x, cond.image])                      image condition as extra input channels
//   down: per level l (resolution H / 2^l): num_res_blocks x (ResidualBlock(h, emb)
//         [+ attention if l in attention_levels]), then a stride-2 conv except after the last
//   middle: ResidualBlock, attention, ResidualBlock
//   up:   mirror of down with num_res_blocks + 1 blocks per level, each taking the matching skip
//         from the down path concatenated on the channels; nearest x2 + conv between levels
//   out  = conv3x3(SiLU(GroupNorm(h)))                    (B, out_channels, H, W)
//
// Class conditioning: a learned embedding of num_classes + 1 rows, the last one the null class
// that classifier-free guidance uses (labels -1 and num_classes both mean null; no labels at
// all means null for the whole batch). Any H, W work: the input is zero-padded on the bottom and
// right to a multiple of 2^(levels - 1) and the output cropped back, so 28x28 with two
// down-samplings runs at 28 -> 14 -> 7 with no padding, and 30x30 at 32 -> 16 -> 8.
#pragma once

#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "flowinone/models/velocity_model.h"

namespace fi {

struct UNetOptions {
  std::int64_t in_channels = 1;                         // channels of x
  std::int64_t out_channels = 1;                        // channels of the velocity (= in_channels)
  std::int64_t base_channels = 32;                      // channels at level 0 (even)
  std::vector<std::int64_t> channel_mults = {1, 2, 2};  // level l has base * mults[l] channels
  int num_res_blocks = 1;                               // residual blocks per level on the way down
  std::vector<int> attention_levels = {2};  // levels with self-attention (0 = full size)
  bool middle_attention = true;             // attention in the middle block
  std::int64_t num_heads = 1;               // attention heads
  double dropout = 0.0;                     // in the residual blocks, training only
  std::int64_t num_classes = 0;             // 0 = no class conditioning
  std::int64_t condition_channels = 0;      // channels of cond.image; 0 = none
  std::int64_t norm_groups = 32;  // GroupNorm groups at most (see group_norm_groups in unet_blocks)
  bool zero_init = true;          // residual branches and the output start at zero (v = 0 at init)
};

/// Named option sets: "fmnist" (28x28 gray, 10 classes; base 32, mults 1,2,2, one block per
/// level, attention at 7x7: about the torchcfm MNIST example) and "fmnist-large" (base 64, two
/// blocks per level, attention at 14x14 and 7x7, dropout 0.1; for a GPU). Throws
/// std::invalid_argument listing the names otherwise.
UNetOptions unet_preset(const std::string& name);
const std::vector<std::string>& unet_preset_names();

/// Throws std::invalid_argument naming the first bad option.
void validate_unet_options(const UNetOptions& options);

/// Number of scalar parameters of a module (trainable or not; buffers excluded).
std::int64_t count_parameters(torch::nn::Module& module);

namespace detail {
class UNetStep;  // one residual block (+ attention) or one resampling step, in unet.cpp
}

class UNetVelocity : public VelocityModel {
 public:
  explicit UNetVelocity(const UNetOptions& options);
  ~UNetVelocity() override;

  using VelocityModel::forward;
  /// x (B, in, H, W), t (B) -> (B, out, H, W), unconditionally (null class, no image).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t) override;
  /// x (B, in, H, W), t (B), cond.labels (B) int64 in [-1, num_classes] (optional),
  /// cond.image (B, condition_channels, H, W) (required iff condition_channels > 0).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t,
                        const Conditioning& cond) override;

  const UNetOptions& options() const { return options_; }
  /// H and W are padded internally to a multiple of this: 2^(levels - 1).
  std::int64_t size_multiple() const;

 private:
  torch::Tensor embed(const torch::Tensor& t, const torch::Tensor& labels, std::int64_t batch,
                      const torch::TensorOptions& float_options);

  UNetOptions options_;
  torch::nn::Linear time_hidden_{nullptr}, time_output_{nullptr};
  torch::nn::Embedding label_embedding_{nullptr};  // num_classes + 1 rows, only with classes
  torch::nn::Conv2d input_conv_{nullptr};
  torch::nn::ModuleList down_list_{nullptr}, middle_list_{nullptr}, up_list_{nullptr};
  std::vector<std::shared_ptr<detail::UNetStep>> down_, middle_, up_;
  torch::nn::GroupNorm output_norm_{nullptr};
  torch::nn::Conv2d output_conv_{nullptr};
};

}  // namespace fi
