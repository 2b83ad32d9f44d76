#include "flowinone/models/unet_blocks.h"

#include <algorithm>
#include <cmath>

#include "flowinone/core/errors.h"

namespace fi {

namespace {

torch::nn::Conv2d make_conv(std::int64_t in, std::int64_t out, std::int64_t kernel,
                            std::int64_t stride = 1, bool bias = true) {
  return torch::nn::Conv2d(
      torch::nn::Conv2dOptions(in, out, kernel).stride(stride).padding(kernel / 2).bias(bias));
}

void zero_parameters(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  for (auto& parameter : module.parameters()) parameter.zero_();
}

}  // namespace

std::int64_t group_norm_groups(std::int64_t channels, std::int64_t max_groups) {
  check_arg(channels >= 1 && max_groups >= 1, "[GroupNorm] channels (", channels, ") and groups (",
            max_groups, ") must be >= 1");
  std::int64_t groups = std::min(max_groups, channels / kMinChannelsPerGroup);
  while (groups > 1 && channels % groups != 0) --groups;
  return std::max<std::int64_t>(groups, 1);
}

torch::nn::GroupNorm make_group_norm(std::int64_t channels, std::int64_t max_groups) {
  return torch::nn::GroupNorm(
      torch::nn::GroupNormOptions(group_norm_groups(channels, max_groups), channels));
}

ResidualBlock::ResidualBlock(std::int64_t in_channels, std::int64_t out_channels,
                             std::int64_t embedding_dim, double dropout, std::int64_t norm_groups,
                             bool zero_init)
    : dropout_(dropout) {
  check_arg(dropout >= 0 && dropout < 1, "[ResidualBlock] dropout must be in [0, 1), got ",
            dropout);
  norm1_ = register_module("norm1", make_group_norm(in_channels, norm_groups));
  // No bias: norm2 right after it would subtract it again, leaving a parameter whose gradient
  // is rounding noise (with one channel per group, all of it).
  conv1_ = register_module("conv1", make_conv(in_channels, out_channels, 3, 1, /*bias=*/false));
  embedding_projection_ =
      register_module("embedding_projection", torch::nn::Linear(embedding_dim, 2 * out_channels));
  norm2_ = register_module("norm2", make_group_norm(out_channels, norm_groups));
  conv2_ = register_module("conv2", make_conv(out_channels, out_channels, 3));
  if (zero_init) zero_parameters(*conv2_);
  if (in_channels != out_channels) {
    skip_ = register_module("skip", make_conv(in_channels, out_channels, 1));
  }
}

torch::Tensor ResidualBlock::forward(const torch::Tensor& x, const torch::Tensor& embedding) {
  torch::Tensor h = conv1_->forward(torch::silu(norm1_->forward(x)));
  // A scale and a shift per channel from the embedding, applied after the normalization: added
  // before it, a per-channel constant is what GroupNorm removes (all of it with one channel per
  // group), and the block would not see the time or the class.
  const auto scale_shift = embedding_projection_->forward(torch::silu(embedding))
                               .unsqueeze(-1)
                               .unsqueeze(-1)
                               .chunk(2, 1);
  h = torch::silu(norm2_->forward(h) * (1 + scale_shift[0]) + scale_shift[1]);
  if (dropout_ > 0) h = torch::dropout(h, dropout_, is_training());
  h = conv2_->forward(h);
  return (skip_ ? skip_->forward(x) : x) + h;
}

AttentionBlock::AttentionBlock(std::int64_t channels, std::int64_t num_heads,
                               std::int64_t norm_groups, bool zero_init)
    : num_heads_(num_heads) {
  check_arg(num_heads >= 1 && channels % num_heads == 0, "[AttentionBlock] ", channels,
            " channels cannot be split into ", num_heads, " heads");
  norm_ = register_module("norm", make_group_norm(channels, norm_groups));
  // No bias: a key bias shifts every score of a query by the same amount, which the softmax
  // ignores (its gradient is rounding noise), and a value bias passes through the attention
  // unchanged, the projection's bias doing the same.
  qkv_ = register_module("qkv", make_conv(channels, 3 * channels, 1, 1, /*bias=*/false));
  projection_ = register_module("projection", make_conv(channels, channels, 1));
  if (zero_init) zero_parameters(*projection_);
}

torch::Tensor AttentionBlock::forward(const torch::Tensor& x) {
  const std::int64_t batch = x.size(0), channels = x.size(1);
  const std::int64_t positions = x.size(2) * x.size(3);
  const std::int64_t head_dim = channels / num_heads_;
  // (B, 3C, H, W) -> (B * heads, 3 * head_dim, N): each head's q, k, v stacked.
  const torch::Tensor qkv =
      qkv_->forward(norm_->forward(x)).reshape({batch * num_heads_, 3 * head_dim, positions});
  const auto parts = qkv.chunk(3, 1);
  // Scale q and k by d^(-1/4) each rather than the scores by d^(-1/2): smaller intermediates in
  // half precision.
  const double scale = 1.0 / std::sqrt(std::sqrt(static_cast<double>(head_dim)));
  const torch::Tensor q = parts[0] * scale, k = parts[1] * scale, v = parts[2];
  // weights[b, i, j]: how much query position i attends to key position j; softmax in float32.
  const torch::Tensor scores = torch::bmm(q.transpose(1, 2), k);
  const torch::Tensor weights = torch::softmax(scores.to(torch::kFloat32), -1).to(v.scalar_type());
  const torch::Tensor attended = torch::bmm(v, weights.transpose(1, 2));  // (B*heads, d, N)
  return x + projection_->forward(attended.reshape(x.sizes()));
}

Downsample::Downsample(std::int64_t channels) {
  conv_ = register_module("conv", make_conv(channels, channels, 3, 2));
}

torch::Tensor Downsample::forward(const torch::Tensor& x) {
  check_arg(x.size(2) % 2 == 0 && x.size(3) % 2 == 0, "[Downsample] height and width must be ",
            "even, got ", x.sizes());
  return conv_->forward(x);
}

Upsample::Upsample(std::int64_t channels) {
  conv_ = register_module("conv", make_conv(channels, channels, 3));
}

torch::Tensor Upsample::forward(const torch::Tensor& x) {
  const std::int64_t b = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  // Nearest neighbour x2 as a broadcast: every pixel repeated in a 2x2 block.
  const torch::Tensor up =
      x.reshape({b, c, h, 1, w, 1}).expand({b, c, h, 2, w, 2}).reshape({b, c, 2 * h, 2 * w});
  return conv_->forward(up);
}

}  // namespace fi
