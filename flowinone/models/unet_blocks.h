// The building blocks of the image UNet (models/unet.h), after Ho et al. 2020 (DDPM) and Dhariwal
// and Nichol 2021 ("Diffusion models beat GANs"), the architecture torchcfm's UNet uses too.
//
//   ResidualBlock   x + F(x, emb): GroupNorm, SiLU, 3x3 conv (no bias), GroupNorm, then
//                   * (1 + scale) + shift with (scale, shift) = Linear(SiLU(emb)) per channel
//                   (the "scale-shift norm" of Dhariwal and Nichol), SiLU, dropout, 3x3 conv;
//                   a 1x1 conv on the skip when the channel count changes. emb carries the time
//                   (and class) embedding.
//   AttentionBlock  x + proj(MultiHeadSelfAttention(GroupNorm(x))) over the H*W positions; the
//                   q, k, v projection has no bias.
//   Downsample      3x3 conv with stride 2: (B, C, H, W) -> (B, C, H/2, W/2), H and W even.
//   Upsample        nearest-neighbour x2 then 3x3 conv: (B, C, H, W) -> (B, C, 2H, 2W).
//
// With zero_init the last layer of each residual branch starts at zero, so every block starts as
// the identity (a stable start for deep stacks); tests turn it off to see every input matter.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/types.h>

#include <cstdint>

namespace fi {

/// Channels a GroupNorm group has at least (DDPM's 32 groups at 128 channels have 4). With one
/// channel per group the norm removes every per-channel constant: a bias or an embedding added
/// before it, and every bias whose effect reaches the output only as such a constant, would get
/// a gradient of pure rounding noise, which Adam turns into steps of full size.
inline constexpr std::int64_t kMinChannelsPerGroup = 4;

/// The largest divisor of `channels` that is at most max_groups and leaves each group at least
/// kMinChannelsPerGroup channels (1 for fewer than that many channels).
std::int64_t group_norm_groups(std::int64_t channels, std::int64_t max_groups);
torch::nn::GroupNorm make_group_norm(std::int64_t channels, std::int64_t max_groups);

class ResidualBlock : public torch::nn::Module {
 public:
  ResidualBlock(std::int64_t in_channels, std::int64_t out_channels, std::int64_t embedding_dim,
                double dropout, std::int64_t norm_groups, bool zero_init);
  /// x (B, in, H, W), embedding (B, embedding_dim) -> (B, out, H, W).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& embedding);

 private:
  double dropout_;
  torch::nn::GroupNorm norm1_{nullptr};
  torch::nn::Conv2d conv1_{nullptr};
  torch::nn::Linear embedding_projection_{nullptr};
  torch::nn::GroupNorm norm2_{nullptr};
  torch::nn::Conv2d conv2_{nullptr};
  torch::nn::Conv2d skip_{nullptr};  // 1x1, only when in != out
};

class AttentionBlock : public torch::nn::Module {
 public:
  /// channels must be divisible by num_heads.
  AttentionBlock(std::int64_t channels, std::int64_t num_heads, std::int64_t norm_groups,
                 bool zero_init);
  /// x (B, C, H, W) -> (B, C, H, W).
  torch::Tensor forward(const torch::Tensor& x);

 private:
  std::int64_t num_heads_;
  torch::nn::GroupNorm norm_{nullptr};
  torch::nn::Conv2d qkv_{nullptr};         // 1x1, C -> 3C
  torch::nn::Conv2d projection_{nullptr};  // 1x1, C -> C
};

class Downsample : public torch::nn::Module {
 public:
  explicit Downsample(std::int64_t channels);
  /// x (B, C, H, W) with H, W even -> (B, C, H/2, W/2).
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::Conv2d conv_{nullptr};
};

class Upsample : public torch::nn::Module {
 public:
  explicit Upsample(std::int64_t channels);
  /// x (B, C, H, W) -> (B, C, 2H, 2W).
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::Conv2d conv_{nullptr};
};

}  // namespace fi
