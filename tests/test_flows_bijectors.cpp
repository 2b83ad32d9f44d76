// Every bijector: inverse(forward(x)) == x in float32 (batches 1 and 7), and its logdet equals
// log|det J| of the brute-force autograd Jacobian in float64, with random non-trivial weights.
#include <gtest/gtest.h>

#include <functional>

#include "flowinone/core/random.h"
#include "flowinone/flows/actnorm.h"
#include "flowinone/flows/additive_coupling.h"
#include "flowinone/flows/affine_coupling.h"
#include "flowinone/flows/bijector_sequence.h"
#include "flowinone/flows/invertible_conv1x1.h"
#include "flowinone/flows/logit_transform.h"
#include "flowinone/flows/maf.h"
#include "flowinone/flows/split.h"
#include "flowinone/flows/squeeze.h"
#include "test_flows_helpers.h"

namespace {

using fi::BijectorPtr;

struct BijectorCase {
  std::string name;
  std::function<BijectorPtr()> make;
  std::vector<std::int64_t> shape;                                  // per-sample input shape
  std::function<torch::Tensor(std::int64_t, at::Generator&)> cond;  // null: unconditional
  bool unit_interval_input = false;                                 // logit: x in (0, 1)
};

torch::Tensor make_input(const BijectorCase& c, std::int64_t batch, at::Generator& generator,
                         torch::ScalarType dtype) {
  std::vector<std::int64_t> shape = {batch};
  shape.insert(shape.end(), c.shape.begin(), c.shape.end());
  if (c.unit_interval_input) {
    return 0.02 + 0.96 * torch::rand(shape, generator, torch::TensorOptions().dtype(dtype));
  }
  return torch::randn(shape, generator, torch::TensorOptions().dtype(dtype));
}

fi::CouplingLayerOptions coupling(std::vector<std::int64_t> shape, fi::MaskKind mask, bool flip) {
  fi::CouplingLayerOptions options;
  options.shape = std::move(shape);
  options.mask = mask;
  options.flip = flip;
  options.hidden = 8;
  options.hidden_layers = 2;
  return options;
}

fi::ConditionOptions class_condition() {
  fi::ConditionOptions condition;
  condition.kind = fi::ConditionKind::kClass;
  condition.num_classes = 3;
  condition.embedding_dim = 4;
  return condition;
}

std::function<torch::Tensor(std::int64_t, at::Generator&)> labels(std::int64_t num_classes) {
  return [num_classes](std::int64_t batch, at::Generator& generator) {
    return torch::randint(num_classes, {batch}, generator, torch::TensorOptions(torch::kInt64));
  };
}

// ActNorm initialized from its own batch, so the test batch (even of size 1) is not degenerate.
BijectorPtr initialized_actnorm(std::int64_t features, std::vector<std::int64_t> shape) {
  auto layer = std::make_shared<fi::ActNorm>(features);
  std::vector<std::int64_t> batch_shape = {16};
  batch_shape.insert(batch_shape.end(), shape.begin(), shape.end());
  auto generator = fi::make_generator(99);
  layer->initialize(torch::randn(batch_shape, generator) * 2.0 + 0.5);
  return layer;
}

std::vector<BijectorCase> all_cases() {
  std::vector<BijectorCase> cases;
  const std::vector<std::int64_t> vec = {5}, img = {2, 4, 4}, img1 = {1, 4, 4};
  cases.push_back({"additive_half",
                   [=] {
                     return std::make_shared<fi::AdditiveCoupling>(
                         coupling(vec, fi::MaskKind::kHalf, false));
                   },
                   vec, nullptr});
  cases.push_back({"additive_checkerboard_image",
                   [=] {
                     return std::make_shared<fi::AdditiveCoupling>(
                         coupling(img1, fi::MaskKind::kCheckerboard, true));
                   },
                   img1, nullptr});
  cases.push_back({"affine_half",
                   [=] {
                     return std::make_shared<fi::AffineCoupling>(
                         coupling(vec, fi::MaskKind::kHalf, true));
                   },
                   vec, nullptr});
  cases.push_back({"affine_checkerboard_vector",
                   [=] {
                     return std::make_shared<fi::AffineCoupling>(
                         coupling(vec, fi::MaskKind::kCheckerboard, false));
                   },
                   vec, nullptr});
  cases.push_back({"affine_checkerboard_image",
                   [=] {
                     return std::make_shared<fi::AffineCoupling>(
                         coupling(img1, fi::MaskKind::kCheckerboard, false));
                   },
                   img1, nullptr});
  cases.push_back({"affine_channel_image",
                   [=] {
                     return std::make_shared<fi::AffineCoupling>(
                         coupling(img, fi::MaskKind::kChannel, true));
                   },
                   img, nullptr});
  cases.push_back({"conditional_affine_class_vector",
                   [=] {
                     auto options = coupling(vec, fi::MaskKind::kHalf, false);
                     options.condition = class_condition();
                     return std::make_shared<fi::AffineCoupling>(options);
                   },
                   vec, labels(3)});
  cases.push_back({"conditional_affine_class_image",
                   [=] {
                     auto options = coupling(img, fi::MaskKind::kChannel, false);
                     options.condition = class_condition();
                     return std::make_shared<fi::AffineCoupling>(options);
                   },
                   img, labels(3)});
  cases.push_back({"conditional_affine_image_condition",
                   [=] {
                     auto options = coupling(img, fi::MaskKind::kCheckerboard, false);
                     options.condition.kind = fi::ConditionKind::kImage;
                     options.condition.image_channels = 3;
                     return std::make_shared<fi::AffineCoupling>(options);
                   },
                   img,
                   [](std::int64_t batch, at::Generator& generator) {
                     // Twice the resolution: the layer pools it down to 4x4.
                     return torch::randn({batch, 3, 8, 8}, generator);
                   }});
  cases.push_back({"actnorm_vector", [=] { return initialized_actnorm(5, vec); }, vec, nullptr});
  cases.push_back({"actnorm_image", [=] { return initialized_actnorm(2, img); }, img, nullptr});
  cases.push_back({"conv1x1_image",
                   [] { return std::make_shared<fi::InvertibleConv1x1>(3); },
                   {3, 2, 3},
                   nullptr});
  cases.push_back(
      {"conv1x1_vector", [] { return std::make_shared<fi::InvertibleConv1x1>(4); }, {4}, nullptr});
  cases.push_back({"squeeze", [] { return std::make_shared<fi::Squeeze>(); }, {2, 4, 2}, nullptr});
  cases.push_back({"split",
                   [] {
                     fi::SplitOptions options;
                     options.shape = {4, 2, 2};
                     options.hidden = 8;
                     // The kept half goes through a squeeze and a channel coupling below.
                     auto inner = std::make_shared<fi::BijectorSequence>(
                         std::vector<BijectorPtr>{std::make_shared<fi::Squeeze>(),
                                                  std::make_shared<fi::AffineCoupling>(coupling(
                                                      {8, 1, 1}, fi::MaskKind::kChannel, false))});
                     return std::make_shared<fi::Split>(options, inner);
                   },
                   {4, 2, 2},
                   nullptr});
  cases.push_back({"conditional_split",
                   [] {
                     fi::SplitOptions options;
                     options.shape = {3, 2, 2};
                     options.hidden = 8;
                     options.condition = class_condition();
                     auto inner =
                         std::make_shared<fi::BijectorSequence>(std::vector<BijectorPtr>{});
                     return std::make_shared<fi::Split>(options, inner);
                   },
                   {3, 2, 2},
                   labels(3)});
  cases.push_back({"maf",
                   [] {
                     fi::MadeOptions made;
                     made.dim = 4;
                     made.hidden = 12;
                     made.order = {2, 0, 3, 1};
                     return std::make_shared<fi::MafLayer>(made);
                   },
                   {4},
                   nullptr});
  cases.push_back({"conditional_maf",
                   [] {
                     fi::MadeOptions made;
                     made.dim = 3;
                     made.hidden = 10;
                     made.hidden_layers = 3;
                     made.condition = class_condition();
                     return std::make_shared<fi::MafLayer>(made);
                   },
                   {3},
                   labels(3)});
  cases.push_back({"logit",
                   [] { return std::make_shared<fi::LogitTransform>(0.05); },
                   {2, 2, 2},
                   nullptr,
                   /*unit_interval_input=*/true});
  cases.push_back(
      {"sequence",
       [=] {
         return std::make_shared<fi::BijectorSequence>(std::vector<BijectorPtr>{
             initialized_actnorm(5, vec), std::make_shared<fi::InvertibleConv1x1>(5),
             std::make_shared<fi::AffineCoupling>(coupling(vec, fi::MaskKind::kHalf, false)),
             std::make_shared<fi::AffineCoupling>(coupling(vec, fi::MaskKind::kHalf, true))});
       },
       vec, nullptr});
  return cases;
}

torch::Tensor make_cond(const BijectorCase& c, std::int64_t batch, at::Generator& generator) {
  return c.cond ? c.cond(batch, generator) : torch::Tensor();
}

}  // namespace

TEST(FlowBijectors, InverseUndoesForwardInFloat32) {
  for (const auto& c : all_cases()) {
    torch::manual_seed(1);
    auto layer = c.make();
    fi::testing::perturb_parameters(*layer, 0.2, 2);
    for (const std::int64_t batch : {1, 7}) {
      auto generator = fi::make_generator(3 + batch);
      const auto x = make_input(c, batch, generator, torch::kFloat32);
      const auto cond = make_cond(c, batch, generator);
      fi::testing::expect_round_trip(*layer, x, cond, c.name);
      // The weights are not the identity: the layer moves x (squeeze and split reorder it).
      torch::NoGradGuard no_grad;
      const auto z = layer->forward(x, cond).z;
      if (z.sizes() == x.sizes() && c.name != "squeeze") {
        EXPECT_GT(fi::testing::max_abs_diff(z, x), 1e-3) << c.name << " is the identity";
      }
    }
  }
}

TEST(FlowBijectors, LogdetEqualsBruteForceJacobianInFloat64) {
  for (const auto& c : all_cases()) {
    torch::manual_seed(4);
    auto layer = c.make();
    fi::testing::perturb_parameters(*layer, 0.2, 5);
    layer->to(torch::kFloat64);
    auto generator = fi::make_generator(6);
    const auto x = make_input(c, 3, generator, torch::kFloat64);
    const auto cond = make_cond(c, 3, generator);
    fi::testing::expect_logdet_matches_jacobian(*layer, x, cond, c.name);
  }
}

TEST(FlowBijectors, ScalesAreBoundedWhateverTheWeights) {
  // Huge weights: the raw log-scale saturates at scale_bound instead of overflowing exp().
  auto options = coupling({4}, fi::MaskKind::kHalf, false);
  options.scale_bound = 2.0;
  fi::AffineCoupling layer(options);
  fi::testing::perturb_parameters(layer, 1e3, 7);
  const auto x = torch::randn({16, 4}) * 100.0;
  const auto out = layer.forward(x, {});
  EXPECT_TRUE(torch::isfinite(out.logdet).all().item<bool>());
  // Two transformed coordinates, each |s| < 2.
  EXPECT_LE(out.logdet.abs().max().item<double>(), 2 * 2.0);
}

TEST(FlowBijectors, Conv1x1StaysInvertibleAndMatchesItsDeterminant) {
  torch::manual_seed(8);
  fi::InvertibleConv1x1 layer(6);
  layer.to(torch::kFloat64);
  // Even with log|s| pushed far down, det W = prod(sign * exp(log|s|)) is not zero.
  {
    torch::NoGradGuard no_grad;
    for (auto& item : layer.named_parameters()) {
      if (item.key() == "log_abs_s") item.value().fill_(-5.0);
    }
  }
  const auto w = layer.weight().to(torch::kFloat64);
  const double log_abs_det = std::get<1>(torch::slogdet(w)).item<double>();
  EXPECT_NEAR(log_abs_det, -30.0, 1e-6);
  EXPECT_NEAR(layer.forward(torch::randn({1, 6, 2, 2}, torch::kFloat64), {}).logdet.item<double>(),
              -30.0 * 4, 1e-9);
  // Still inverted to float64 precision.
  const auto x = torch::randn({2, 6}, torch::kFloat64);
  EXPECT_LT(fi::testing::max_abs_diff(layer.inverse(layer.forward(x, {}).z, {}), x), 1e-6);
}

TEST(FlowBijectors, MasksAndErrors) {
  const auto half = fi::make_coupling_mask(fi::MaskKind::kHalf, {4}, false);
  EXPECT_TRUE(torch::equal(half, torch::tensor({{1.0f, 1.0f, 0.0f, 0.0f}})));
  const auto board = fi::make_coupling_mask(fi::MaskKind::kCheckerboard, {1, 2, 2}, true);
  EXPECT_TRUE(torch::equal(board.view({4}), torch::tensor({0.0f, 1.0f, 1.0f, 0.0f})));
  const auto channel = fi::make_coupling_mask(fi::MaskKind::kChannel, {4, 1, 1}, false);
  EXPECT_TRUE(torch::equal(channel.view({4}), torch::tensor({1.0f, 1.0f, 0.0f, 0.0f})));
  EXPECT_THROW(fi::make_coupling_mask(fi::MaskKind::kChannel, {4}, false), std::invalid_argument);
  EXPECT_THROW(fi::make_coupling_mask(fi::MaskKind::kHalf, {2, 2, 2}, false),
               std::invalid_argument);
  EXPECT_THROW(fi::make_coupling_mask(fi::MaskKind::kChannel, {1, 2, 2}, false),
               std::invalid_argument);
  try {
    fi::parse_mask_kind("diagonal");
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("checkerboard, channel, half"), std::string::npos);
  }
  EXPECT_THROW(fi::Squeeze().forward(torch::randn({1, 1, 3, 4}), {}), std::invalid_argument);
  EXPECT_THROW(fi::ActNorm(3).forward(torch::randn({2, 4}), {}), std::invalid_argument);
  EXPECT_THROW(fi::LogitTransform(0.5), std::invalid_argument);
  // A class-conditional layer refuses a missing or mistyped condition.
  auto options = coupling({4}, fi::MaskKind::kHalf, false);
  options.condition = class_condition();
  fi::AffineCoupling conditional(options);
  EXPECT_THROW(conditional.forward(torch::randn({2, 4}), {}), std::invalid_argument);
  EXPECT_THROW(conditional.forward(torch::randn({2, 4}), torch::zeros({2})), std::invalid_argument);
}
