#include "flowinone/flows/condition.h"

#include <ATen/ATen.h>

#include "flowinone/core/errors.h"
#include "flowinone/core/named_values.h"

namespace fi {

namespace {
constexpr NamedValue<ConditionKind> kConditionNames[] = {{ConditionKind::kNone, "none"},
                                                         {ConditionKind::kClass, "class"},
                                                         {ConditionKind::kImage, "image"}};
}  // namespace

ConditionKind parse_condition_kind(const std::string& name) {
  return parse_named(kConditionNames, name, "condition kind");
}

std::string to_string(ConditionKind kind) { return name_of(kConditionNames, kind); }

std::int64_t ConditionOptions::features() const {
  switch (kind) {
    case ConditionKind::kNone:
      return 0;
    case ConditionKind::kClass:
      return embedding_dim;
    case ConditionKind::kImage:
      return image_channels;
  }
  return 0;
}

void check_condition_options(const ConditionOptions& options, const std::string& where) {
  if (options.kind == ConditionKind::kClass) {
    check_arg(options.num_classes >= 1, "[", where,
              "] a class condition needs num_classes >= 1, got ", options.num_classes);
    check_arg(options.embedding_dim >= 1, "[", where, "] embedding_dim must be >= 1, got ",
              options.embedding_dim);
  }
  if (options.kind == ConditionKind::kImage) {
    check_arg(options.image_channels >= 1, "[", where,
              "] an image condition needs image_channels >= 1, got ", options.image_channels);
  }
}

ConditionEncoder::ConditionEncoder(const ConditionOptions& options) : options_(options) {
  check_condition_options(options, "ConditionEncoder");
  if (options.kind == ConditionKind::kClass) {
    embedding_ = register_module("embedding",
                                 torch::nn::Embedding(options.num_classes, options.embedding_dim));
  }
}

void ConditionEncoder::check_cond(const torch::Tensor& cond, std::int64_t batch) const {
  switch (options_.kind) {
    case ConditionKind::kNone:
      return;
    case ConditionKind::kClass:
      check_arg(cond.defined() && cond.dim() == 1 && cond.size(0) == batch &&
                    cond.scalar_type() == torch::kInt64,
                "[condition] class labels must be (", batch, ") int64, got ",
                cond.defined() ? cond.sizes() : torch::IntArrayRef{},
                cond.defined() ? std::string(" ") + c10::toString(cond.scalar_type()) : " nothing");
      return;
    case ConditionKind::kImage:
      check_arg(cond.defined() && cond.dim() == 4 && cond.size(0) == batch &&
                    cond.size(1) == options_.image_channels,
                "[condition] the condition image must be (", batch, ", ", options_.image_channels,
                ", H, W), got ", cond.defined() ? cond.sizes() : torch::IntArrayRef{});
      return;
  }
}

torch::Tensor ConditionEncoder::vector_features(const torch::Tensor& cond, std::int64_t batch) {
  check_cond(cond, batch);
  switch (options_.kind) {
    case ConditionKind::kNone:
      return {};
    case ConditionKind::kClass:
      return embedding_->forward(cond);
    case ConditionKind::kImage:
      throw std::invalid_argument("[condition] an image condition needs an image-shaped flow");
  }
  return {};
}

torch::Tensor ConditionEncoder::image_features(const torch::Tensor& cond, std::int64_t batch,
                                               std::int64_t height, std::int64_t width) {
  check_cond(cond, batch);
  switch (options_.kind) {
    case ConditionKind::kNone:
      return {};
    case ConditionKind::kClass:
      return embedding_->forward(cond)
          .view({batch, options_.embedding_dim, 1, 1})
          .expand({batch, options_.embedding_dim, height, width});
    case ConditionKind::kImage:
      if (cond.size(2) == height && cond.size(3) == width) return cond;
      return at::adaptive_avg_pool2d(cond, {height, width});
  }
  return {};
}

}  // namespace fi
