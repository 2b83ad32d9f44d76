#include "flowinone/flows/flow_builder.h"

#include "flowinone/core/errors.h"
#include "flowinone/core/named_values.h"
#include "flowinone/flows/actnorm.h"
#include "flowinone/flows/additive_coupling.h"
#include "flowinone/flows/affine_coupling.h"
#include "flowinone/flows/invertible_conv1x1.h"
#include "flowinone/flows/logit_transform.h"
#include "flowinone/flows/maf.h"
#include "flowinone/flows/split.h"
#include "flowinone/flows/squeeze.h"

namespace fi {

namespace {
constexpr NamedValue<FlowKind> kFlowKindNames[] = {{FlowKind::kRealNvp, "realnvp"},
                                                   {FlowKind::kMaf, "maf"},
                                                   {FlowKind::kNice, "nice"},
                                                   {FlowKind::kGlow, "glow"}};
}  // namespace

FlowKind parse_flow_kind(const std::string& name) {
  return parse_named(kFlowKindNames, name, "flow kind");
}

std::string to_string(FlowKind kind) { return name_of(kFlowKindNames, kind); }

namespace {

ConditionOptions condition_of(const FlowOptions& options) {
  ConditionOptions condition;
  if (options.num_classes > 0) {
    condition.kind = ConditionKind::kClass;
    condition.num_classes = options.num_classes;
    condition.embedding_dim = options.class_embedding_dim;
  } else if (options.cond_channels > 0) {
    condition.kind = ConditionKind::kImage;
    condition.image_channels = options.cond_channels;
  }
  return condition;
}

CouplingLayerOptions coupling_options(const FlowOptions& options, std::vector<std::int64_t> shape,
                                      MaskKind mask, bool flip) {
  CouplingLayerOptions coupling;
  coupling.shape = std::move(shape);
  coupling.mask = mask;
  coupling.flip = flip;
  coupling.hidden = options.hidden;
  coupling.hidden_layers = options.hidden_layers;
  coupling.scale_bound = options.scale_bound;
  coupling.condition = condition_of(options);
  return coupling;
}

std::vector<BijectorPtr> vector_layers(const FlowOptions& options) {
  const std::int64_t dim = options.shape[0];
  std::vector<BijectorPtr> layers;
  for (int i = 0; i < options.num_layers; ++i) {
    const bool flip = i % 2 == 1;
    switch (options.kind) {
      case FlowKind::kRealNvp:
        if (options.actnorm) layers.push_back(std::make_shared<ActNorm>(dim));
        layers.push_back(std::make_shared<AffineCoupling>(
            coupling_options(options, options.shape, options.mask, flip)));
        break;
      case FlowKind::kNice:
        layers.push_back(std::make_shared<AdditiveCoupling>(
            coupling_options(options, options.shape, options.mask, flip)));
        break;
      case FlowKind::kMaf: {
        if (options.actnorm) layers.push_back(std::make_shared<ActNorm>(dim));
        MadeOptions made;
        made.dim = dim;
        made.hidden = options.hidden;
        made.hidden_layers = options.hidden_layers;
        made.order = natural_order(dim, /*reversed=*/flip);
        made.condition = condition_of(options);
        layers.push_back(std::make_shared<MafLayer>(made, options.scale_bound));
        break;
      }
      case FlowKind::kGlow:
        layers.push_back(std::make_shared<ActNorm>(dim));
        layers.push_back(std::make_shared<InvertibleConv1x1>(dim));
        layers.push_back(std::make_shared<AffineCoupling>(
            coupling_options(options, options.shape, MaskKind::kHalf, false)));
        break;
    }
  }
  if (options.kind == FlowKind::kNice) layers.push_back(std::make_shared<ActNorm>(dim));
  return layers;
}

void add_couplings(const FlowOptions& options, const std::vector<std::int64_t>& shape,
                   MaskKind mask, int count, std::vector<BijectorPtr>& layers) {
  for (int i = 0; i < count; ++i) {
    if (options.actnorm) layers.push_back(std::make_shared<ActNorm>(shape[0]));
    layers.push_back(
        std::make_shared<AffineCoupling>(coupling_options(options, shape, mask, i % 2 == 1)));
  }
}

SplitOptions split_options(const FlowOptions& options, const std::vector<std::int64_t>& shape) {
  SplitOptions split;
  split.shape = shape;
  split.hidden = options.hidden;
  split.scale_bound = options.scale_bound;
  split.condition = condition_of(options);
  return split;
}

std::vector<std::int64_t> kept_shape(const std::vector<std::int64_t>& shape) {
  return {shape[0] - shape[0] / 2, shape[1], shape[2]};
}

// RealNVP from `level` down, on input of per-sample `shape`.
std::vector<BijectorPtr> realnvp_levels(const FlowOptions& options, std::vector<std::int64_t> shape,
                                        int level) {
  std::vector<BijectorPtr> layers;
  if (level == options.num_levels) {
    // A single pixel left (tiny test images) has no checkerboard: split channels instead.
    const MaskKind mask = shape[1] * shape[2] >= 2 ? MaskKind::kCheckerboard : MaskKind::kChannel;
    add_couplings(options, shape, mask, options.steps_per_level + 1, layers);
    return layers;
  }
  add_couplings(options, shape, MaskKind::kCheckerboard, options.steps_per_level, layers);
  layers.push_back(std::make_shared<Squeeze>());
  shape = {4 * shape[0], shape[1] / 2, shape[2] / 2};
  add_couplings(options, shape, MaskKind::kChannel, options.steps_per_level, layers);
  auto inner =
      std::make_shared<BijectorSequence>(realnvp_levels(options, kept_shape(shape), level + 1));
  layers.push_back(std::make_shared<Split>(split_options(options, shape), inner));
  return layers;
}

// Glow from `level` down.
std::vector<BijectorPtr> glow_levels(const FlowOptions& options, std::vector<std::int64_t> shape,
                                     int level) {
  std::vector<BijectorPtr> layers;
  layers.push_back(std::make_shared<Squeeze>());
  shape = {4 * shape[0], shape[1] / 2, shape[2] / 2};
  for (int step = 0; step < options.steps_per_level; ++step) {
    layers.push_back(std::make_shared<ActNorm>(shape[0]));
    layers.push_back(std::make_shared<InvertibleConv1x1>(shape[0]));
    layers.push_back(std::make_shared<AffineCoupling>(
        coupling_options(options, shape, MaskKind::kChannel, false)));
  }
  if (level + 1 < options.num_levels) {
    auto inner =
        std::make_shared<BijectorSequence>(glow_levels(options, kept_shape(shape), level + 1));
    layers.push_back(std::make_shared<Split>(split_options(options, shape), inner));
  }
  return layers;
}

std::vector<BijectorPtr> image_layers(const FlowOptions& options) {
  std::vector<BijectorPtr> layers;
  layers.push_back(
      std::make_shared<Dequantize>(options.pixel_encoding, options.dequantization_seed));
  layers.push_back(std::make_shared<LogitTransform>(options.logit_alpha));
  std::vector<BijectorPtr> body;
  switch (options.kind) {
    case FlowKind::kRealNvp:
      body = realnvp_levels(options, options.shape, 0);
      break;
    case FlowKind::kGlow:
      body = glow_levels(options, options.shape, 0);
      break;
    case FlowKind::kNice:
      for (int i = 0; i < options.num_layers; ++i) {
        body.push_back(std::make_shared<AdditiveCoupling>(
            coupling_options(options, options.shape, MaskKind::kCheckerboard, i % 2 == 1)));
      }
      body.push_back(std::make_shared<ActNorm>(options.shape[0]));
      break;
    case FlowKind::kMaf:
      throw std::invalid_argument("[flow] maf is for vector data, not the image shape");
  }
  layers.insert(layers.end(), body.begin(), body.end());
  return layers;
}

}  // namespace

void check_flow_options(const FlowOptions& options) {
  const auto& shape = options.shape;
  check_arg(shape.size() == 1 || shape.size() == 3, "[flow] shape must be (D) or (C, H, W), got ",
            torch::IntArrayRef(shape));
  for (const auto d : shape) check_arg(d >= 1, "[flow] shape entries must be >= 1, got ", d);
  check_arg(options.hidden >= 1, "[flow] hidden must be >= 1, got ", options.hidden);
  check_arg(options.hidden_layers >= 1, "[flow] hidden_layers must be >= 1, got ",
            options.hidden_layers);
  check_arg(options.scale_bound > 0, "[flow] scale_bound must be > 0, got ", options.scale_bound);
  check_arg(options.num_classes >= 0, "[flow] num_classes must be >= 0, got ", options.num_classes);
  check_arg(options.cond_channels >= 0, "[flow] cond_channels must be >= 0, got ",
            options.cond_channels);
  check_arg(options.num_classes == 0 || options.cond_channels == 0,
            "[flow] num_classes and cond_channels cannot both be set");
  check_arg(options.num_classes == 0 || options.class_embedding_dim >= 1,
            "[flow] class_embedding_dim must be >= 1, got ", options.class_embedding_dim);
  if (shape.size() == 1) {
    check_arg(shape[0] >= 2, "[flow] vector flows need D >= 2, got ", shape[0]);
    check_arg(options.num_layers >= 1, "[flow] num_layers must be >= 1, got ", options.num_layers);
    check_arg(options.mask != MaskKind::kChannel,
              "[flow] the channel mask needs an image shape; vectors use half or checkerboard");
    check_arg(options.cond_channels == 0, "[flow] an image condition needs an image shape");
    return;
  }
  check_arg(options.kind != FlowKind::kMaf, "[flow] maf is for vector data, got an image shape");
  check_arg(options.logit_alpha >= 0 && options.logit_alpha < 0.5,
            "[flow] logit_alpha must be in [0, 0.5), got ", options.logit_alpha);
  if (options.kind == FlowKind::kNice) {
    check_arg(options.num_layers >= 1, "[flow] num_layers must be >= 1, got ", options.num_layers);
    return;
  }
  check_arg(options.num_levels >= 1, "[flow] num_levels must be >= 1, got ", options.num_levels);
  check_arg(options.steps_per_level >= 1, "[flow] steps_per_level must be >= 1, got ",
            options.steps_per_level);
  const std::int64_t factor = std::int64_t{1} << options.num_levels;
  check_arg(shape[1] % factor == 0 && shape[2] % factor == 0, "[flow] ", options.num_levels,
            " levels need H and W divisible by ", factor, ", got ", shape[1], "x", shape[2]);
}

FlowPtr build_flow(const FlowOptions& options) {
  check_flow_options(options);
  std::vector<BijectorPtr> layers =
      options.shape.size() == 1 ? vector_layers(options) : image_layers(options);
  return std::make_shared<Flow>(std::move(layers), options.shape);
}

}  // namespace fi
