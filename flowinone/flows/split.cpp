#include "flowinone/flows/split.h"

#include "flowinone/core/errors.h"

namespace fi {

Split::Split(const SplitOptions& options, BijectorPtr inner)
    : options_(options), inner_(std::move(inner)) {
  const auto& shape = options.shape;
  check_arg(shape.size() == 3 && shape[0] >= 2 && shape[1] >= 1 && shape[2] >= 1,
            "[Split] shape must be (C, H, W) with C >= 2, got ", torch::IntArrayRef(shape));
  check_arg(inner_ != nullptr, "[Split] inner must not be null");
  check_arg(options.scale_bound > 0, "[Split] scale_bound must be > 0, got ", options.scale_bound);
  split_channels_ = shape[0] / 2;
  kept_channels_ = shape[0] - split_channels_;
  inner_output_shape_ = inner_->output_shape({kept_channels_, shape[1], shape[2]});
  register_module("inner", inner_);
  prior_ = register_module("prior",
                           std::make_shared<ConvConditioner>(kept_channels_, 2 * split_channels_,
                                                             options.hidden, options.condition));
}

std::vector<std::int64_t> Split::output_shape(const std::vector<std::int64_t>& input) const {
  check_arg(input == options_.shape, "[Split] built for shape ", torch::IntArrayRef(options_.shape),
            ", got ", torch::IntArrayRef(input));
  return {shape_numel(options_.shape)};
}

std::pair<torch::Tensor, torch::Tensor> Split::prior(const torch::Tensor& kept,
                                                     const torch::Tensor& cond) {
  const auto parts = prior_->forward(kept, cond).chunk(2, 1);
  return {parts[0], soft_clamp(parts[1], options_.scale_bound)};
}

BijectorOutput Split::forward(const torch::Tensor& x, const torch::Tensor& cond) {
  check_arg(x.dim() == 4 && x.size(1) == options_.shape[0] && x.size(2) == options_.shape[1] &&
                x.size(3) == options_.shape[2],
            "[Split] x must be (B, ", torch::IntArrayRef(options_.shape), "), got ", x.sizes());
  const torch::Tensor kept = x.narrow(1, 0, kept_channels_);
  const torch::Tensor split_off = x.narrow(1, kept_channels_, split_channels_);
  const auto [mu, log_sigma] = prior(kept, cond);
  const torch::Tensor eps = (split_off - mu) * torch::exp(-log_sigma);
  const BijectorOutput inner = inner_->forward(kept, cond);
  return {torch::cat({inner.z.flatten(1), eps.flatten(1)}, 1),
          inner.logdet - log_sigma.flatten(1).sum(1)};
}

torch::Tensor Split::inverse(const torch::Tensor& z, const torch::Tensor& cond) {
  const std::int64_t inner_numel = shape_numel(inner_output_shape_);
  const std::int64_t total = shape_numel(options_.shape);
  check_arg(z.dim() == 2 && z.size(1) == total, "[Split] z must be (B, ", total, "), got ",
            z.sizes());
  const std::int64_t b = z.size(0);
  std::vector<std::int64_t> inner_shape = {b};
  inner_shape.insert(inner_shape.end(), inner_output_shape_.begin(), inner_output_shape_.end());
  const torch::Tensor kept =
      inner_->inverse(z.narrow(1, 0, inner_numel).reshape(inner_shape), cond);
  const torch::Tensor eps =
      z.narrow(1, inner_numel, total - inner_numel)
          .reshape({b, split_channels_, options_.shape[1], options_.shape[2]});
  const auto [mu, log_sigma] = prior(kept, cond);
  return torch::cat({kept, eps * torch::exp(log_sigma) + mu}, 1);
}

}  // namespace fi
