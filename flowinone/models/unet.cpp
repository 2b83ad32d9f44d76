#include "flowinone/models/unet.h"

#include <algorithm>

#include "flowinone/core/errors.h"
#include "flowinone/models/time_embedding.h"
#include "flowinone/models/unet_blocks.h"

namespace fi {

namespace detail {

// One step of the UNet: a residual block optionally followed by attention, or a resampling.
// Keeping every step one module type lets the down, middle and up paths be plain lists.
class UNetStep : public torch::nn::Module {
 public:
  void set_residual(std::shared_ptr<ResidualBlock> block) {
    residual_ = register_module("residual", std::move(block));
  }
  void set_attention(std::shared_ptr<AttentionBlock> block) {
    attention_ = register_module("attention", std::move(block));
  }
  void set_downsample(std::shared_ptr<Downsample> block) {
    downsample_ = register_module("downsample", std::move(block));
  }
  void set_upsample(std::shared_ptr<Upsample> block) {
    upsample_ = register_module("upsample", std::move(block));
  }

  torch::Tensor forward(torch::Tensor h, const torch::Tensor& embedding) {
    if (residual_) h = residual_->forward(h, embedding);
    if (attention_) h = attention_->forward(h);
    if (downsample_) h = downsample_->forward(h);
    if (upsample_) h = upsample_->forward(h);
    return h;
  }

 private:
  std::shared_ptr<ResidualBlock> residual_;
  std::shared_ptr<AttentionBlock> attention_;
  std::shared_ptr<Downsample> downsample_;
  std::shared_ptr<Upsample> upsample_;
};

}  // namespace detail

UNetOptions unet_preset(const std::string& name) {
  UNetOptions options;
  options.in_channels = 1;
  options.out_channels = 1;
  options.num_classes = 10;
  options.channel_mults = {1, 2, 2};
  if (name == "fmnist") {
    options.base_channels = 32;
    options.num_res_blocks = 1;
    options.attention_levels = {2};
    return options;
  }
  if (name == "fmnist-large") {
    options.base_channels = 64;
    options.num_res_blocks = 2;
    options.attention_levels = {1, 2};
    options.num_heads = 4;
    options.dropout = 0.1;
    return options;
  }
  std::string valid;
  for (const auto& known : unet_preset_names()) valid += (valid.empty() ? "" : ", ") + known;
  throw std::invalid_argument("[unet_preset] unknown UNet preset '" + name + "' (valid: " + valid +
                              ")");
}

const std::vector<std::string>& unet_preset_names() {
  static const std::vector<std::string> names = {"fmnist", "fmnist-large"};
  return names;
}

void validate_unet_options(const UNetOptions& o) {
  check_arg(o.in_channels >= 1, "[UNet] in_channels must be >= 1, got ", o.in_channels);
  check_arg(o.out_channels >= 1, "[UNet] out_channels must be >= 1, got ", o.out_channels);
  check_arg(o.base_channels >= 2 && o.base_channels % 2 == 0,
            "[UNet] base_channels must be even and >= 2, got ", o.base_channels);
  check_arg(!o.channel_mults.empty() && o.channel_mults.size() <= 8,
            "[UNet] channel_mults must have 1 to 8 levels, got ", o.channel_mults.size());
  for (const auto mult : o.channel_mults) {
    check_arg(mult >= 1, "[UNet] channel multipliers must be >= 1, got ", mult);
  }
  check_arg(o.num_res_blocks >= 1, "[UNet] num_res_blocks must be >= 1, got ", o.num_res_blocks);
  const int num_levels = static_cast<int>(o.channel_mults.size());
  for (const int level : o.attention_levels) {
    check_arg(level >= 0 && level < num_levels, "[UNet] attention level ", level,
              " is outside the levels 0..", num_levels - 1);
  }
  check_arg(o.num_heads >= 1, "[UNet] num_heads must be >= 1, got ", o.num_heads);
  for (const auto mult : o.channel_mults) {
    check_arg((o.base_channels * mult) % o.num_heads == 0, "[UNet] ", o.base_channels * mult,
              " channels cannot be split into ", o.num_heads, " attention heads");
  }
  check_arg(o.dropout >= 0 && o.dropout < 1, "[UNet] dropout must be in [0, 1), got ", o.dropout);
  check_arg(o.num_classes >= 0, "[UNet] num_classes must be >= 0, got ", o.num_classes);
  check_arg(o.condition_channels >= 0, "[UNet] condition_channels must be >= 0, got ",
            o.condition_channels);
  check_arg(o.norm_groups >= 1, "[UNet] norm_groups must be >= 1, got ", o.norm_groups);
}

std::int64_t count_parameters(torch::nn::Module& module) {
  std::int64_t count = 0;
  for (const auto& parameter : module.parameters()) count += parameter.numel();
  return count;
}

UNetVelocity::UNetVelocity(const UNetOptions& options) : options_(options) {
  validate_unet_options(options);
  const auto& o = options_;
  const std::int64_t embedding_dim = 4 * o.base_channels;
  time_hidden_ = register_module("time_hidden", torch::nn::Linear(o.base_channels, embedding_dim));
  time_output_ = register_module("time_output", torch::nn::Linear(embedding_dim, embedding_dim));
  if (o.num_classes > 0) {
    label_embedding_ =
        register_module("label_embedding", torch::nn::Embedding(o.num_classes + 1, embedding_dim));
  }
  std::int64_t channels = o.base_channels * o.channel_mults[0];
  input_conv_ = register_module(
      "input_conv",
      torch::nn::Conv2d(
          torch::nn::Conv2dOptions(o.in_channels + o.condition_channels, channels, 3).padding(1)));

  down_list_ = register_module("down", torch::nn::ModuleList());
  middle_list_ = register_module("middle", torch::nn::ModuleList());
  up_list_ = register_module("up", torch::nn::ModuleList());
  auto residual = [&](std::int64_t in, std::int64_t out) {
    return std::make_shared<ResidualBlock>(in, out, embedding_dim, o.dropout, o.norm_groups,
                                           o.zero_init);
  };
  auto attention = [&](std::int64_t at_channels) {
    return std::make_shared<AttentionBlock>(at_channels, o.num_heads, o.norm_groups, o.zero_init);
  };
  auto add_step = [](std::vector<std::shared_ptr<detail::UNetStep>>& steps,
                     torch::nn::ModuleList& list) {
    steps.push_back(std::make_shared<detail::UNetStep>());
    list->push_back(steps.back());
    return steps.back();
  };
  auto has_attention = [&](int level) {
    return std::find(o.attention_levels.begin(), o.attention_levels.end(), level) !=
           o.attention_levels.end();
  };

  // Channels of every tensor the down path keeps for a skip connection, in order.
  std::vector<std::int64_t> skip_channels = {channels};
  const int num_levels = static_cast<int>(o.channel_mults.size());
  for (int level = 0; level < num_levels; ++level) {
    const std::int64_t level_channels = o.base_channels * o.channel_mults[level];
    for (int block = 0; block < o.num_res_blocks; ++block) {
      auto step = add_step(down_, down_list_);
      step->set_residual(residual(channels, level_channels));
      channels = level_channels;
      if (has_attention(level)) step->set_attention(attention(channels));
      skip_channels.push_back(channels);
    }
    if (level + 1 < num_levels) {
      add_step(down_, down_list_)->set_downsample(std::make_shared<Downsample>(channels));
      skip_channels.push_back(channels);
    }
  }

  auto middle_first = add_step(middle_, middle_list_);
  middle_first->set_residual(residual(channels, channels));
  if (o.middle_attention) middle_first->set_attention(attention(channels));
  add_step(middle_, middle_list_)->set_residual(residual(channels, channels));

  for (int level = num_levels - 1; level >= 0; --level) {
    const std::int64_t level_channels = o.base_channels * o.channel_mults[level];
    for (int block = 0; block <= o.num_res_blocks; ++block) {
      auto step = add_step(up_, up_list_);
      step->set_residual(residual(channels + skip_channels.back(), level_channels));
      skip_channels.pop_back();
      channels = level_channels;
      if (has_attention(level)) step->set_attention(attention(channels));
      if (level > 0 && block == o.num_res_blocks) {
        step->set_upsample(std::make_shared<Upsample>(channels));
      }
    }
  }

  output_norm_ = register_module("output_norm", make_group_norm(channels, o.norm_groups));
  output_conv_ = register_module(
      "output_conv",
      torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, o.out_channels, 3).padding(1)));
  if (o.zero_init) {
    torch::NoGradGuard no_grad;
    output_conv_->weight.zero_();
    output_conv_->bias.zero_();
  }
}

UNetVelocity::~UNetVelocity() = default;

std::int64_t UNetVelocity::size_multiple() const {
  return std::int64_t(1) << (options_.channel_mults.size() - 1);
}

torch::Tensor UNetVelocity::forward(const torch::Tensor& x, const torch::Tensor& t) {
  return forward(x, t, Conditioning{});
}

torch::Tensor UNetVelocity::embed(const torch::Tensor& t, const torch::Tensor& labels,
                                  std::int64_t batch, const torch::TensorOptions& float_options) {
  const auto& o = options_;
  torch::Tensor embedding = time_output_->forward(torch::silu(time_hidden_->forward(
      sinusoidal_time_embedding(t, static_cast<int>(o.base_channels)).to(float_options))));
  if (o.num_classes == 0) {
    // Null labels (-1) are harmless to a model without classes; real ones are a mistake.
    check_arg(!labels.defined() || labels.numel() == 0 || labels.max().item<std::int64_t>() < 0,
              "[UNet] this model takes no class labels (num_classes = 0)");
    return embedding;
  }
  torch::Tensor ids;
  if (!labels.defined()) {
    ids = torch::full({batch}, o.num_classes,
                      torch::TensorOptions().dtype(torch::kInt64).device(t.device()));
  } else {
    check_arg(labels.dim() == 1 && labels.size(0) == batch, "[UNet] labels must be (", batch,
              "), got ", labels.sizes());
    check_arg(
        !labels.is_floating_point() && !labels.is_complex() && labels.scalar_type() != torch::kBool,
        "[UNet] labels must be integers, got ", labels.scalar_type());
    ids = labels.to(t.device(), torch::kInt64);
    const std::int64_t low = ids.min().item<std::int64_t>();
    const std::int64_t high = ids.max().item<std::int64_t>();
    check_arg(low >= -1 && high <= o.num_classes, "[UNet] labels must be in [-1, ", o.num_classes,
              "] (-1 and ", o.num_classes, " = null class), got values in [", low, ", ", high, "]");
    ids = torch::where(ids < 0, torch::full_like(ids, o.num_classes), ids);
  }
  return embedding + label_embedding_->forward(ids).to(float_options);
}

torch::Tensor UNetVelocity::forward(const torch::Tensor& x, const torch::Tensor& t,
                                    const Conditioning& cond) {
  const auto& o = options_;
  check_arg(x.dim() == 4 && x.size(1) == o.in_channels, "[UNet] x must be (B, ", o.in_channels,
            ", H, W), got ", x.sizes());
  const std::int64_t batch = x.size(0), height = x.size(2), width = x.size(3);
  check_arg(height >= 1 && width >= 1, "[UNet] x must have a non-empty image, got ", x.sizes());
  check_arg(t.dim() == 1 && t.size(0) == batch, "[UNet] t must be (", batch, "), got ", t.sizes());

  torch::Tensor input = x;
  if (o.condition_channels > 0) {
    check_arg(cond.image.defined(), "[UNet] this model needs a condition image of ",
              o.condition_channels, " channels");
    check_arg(cond.image.dim() == 4 && cond.image.size(0) == batch &&
                  cond.image.size(1) == o.condition_channels && cond.image.size(2) == height &&
                  cond.image.size(3) == width,
              "[UNet] condition image must be (", batch, ", ", o.condition_channels, ", ", height,
              ", ", width, "), got ", cond.image.sizes());
    input = torch::cat({x, cond.image.to(x.options())}, 1);
  } else {
    check_arg(!cond.image.defined(), "[UNet] this model takes no condition image ",
              "(condition_channels = 0)");
  }

  // Pad bottom and right so every down-sampling halves an even size; cropped after.
  const std::int64_t multiple = size_multiple();
  const std::int64_t pad_h = (multiple - height % multiple) % multiple;
  const std::int64_t pad_w = (multiple - width % multiple) % multiple;
  if (pad_h > 0 || pad_w > 0) input = torch::constant_pad_nd(input, {0, pad_w, 0, pad_h}, 0);

  const torch::Tensor embedding = embed(t, cond.labels, batch, x.options());
  torch::Tensor h = input_conv_->forward(input);
  std::vector<torch::Tensor> skips = {h};
  for (auto& step : down_) {
    h = step->forward(h, embedding);
    skips.push_back(h);
  }
  for (auto& step : middle_) h = step->forward(h, embedding);
  for (auto& step : up_) {
    h = step->forward(torch::cat({h, skips.back()}, 1), embedding);
    skips.pop_back();
  }
  h = output_conv_->forward(torch::silu(output_norm_->forward(h)));
  if (pad_h > 0 || pad_w > 0) h = h.slice(2, 0, height).slice(3, 0, width);
  return h;
}

}  // namespace fi
