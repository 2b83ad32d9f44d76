// The Flow module: log_prob against closed forms, sampling with a temperature, the non-finite
// check naming the layer, ActNorm's data-dependent initialization, the builder and its errors, and
// a 2D RealNVP trained briefly on the checkerboard whose samples agree with its density.
#include <gtest/gtest.h>
#include <torch/optim/adam.h>

#include <chrono>
#include <cmath>

#include "flowinone/core/random.h"
#include "flowinone/data/toy2d.h"
#include "flowinone/flows/actnorm.h"
#include "flowinone/flows/affine_coupling.h"
#include "flowinone/flows/flow_builder.h"
#include "test_flows_helpers.h"

namespace {

std::string message_of(const std::function<void()>& call) {
  try {
    call();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Flow, EmptyFlowIsTheStandardGaussian) {
  fi::Flow flow({}, {3});
  const auto x = torch::tensor({{0.0f, 0.0f, 0.0f}, {1.0f, -2.0f, 0.5f}});
  const auto log_prob = flow.log_prob(x);
  const double log_norm = -1.5 * std::log(2.0 * M_PI);
  EXPECT_NEAR(log_prob[0].item<double>(), log_norm, 1e-5);
  EXPECT_NEAR(log_prob[1].item<double>(), log_norm - 0.5 * (1.0 + 4.0 + 0.25), 1e-5);
  // The temperature scales the base std.
  auto generator = fi::make_generator(1);
  const auto samples = flow.sample(20000, 0.5, generator);
  EXPECT_EQ(samples.sizes(), (std::vector<std::int64_t>{20000, 3}));
  EXPECT_NEAR(samples.std().item<double>(), 0.5, 0.01);
  EXPECT_THROW(flow.log_prob(torch::zeros({2, 4})), std::invalid_argument);
  EXPECT_THROW(flow.sample(0, 1.0, generator), std::invalid_argument);
  EXPECT_THROW(flow.sample(2, -1.0, generator), std::invalid_argument);
}

TEST(Flow, LogProbOfAnAffineLayerIsTheGaussianItMaps) {
  // ActNorm maps N(m, s^2) to N(0, 1): the flow's density must be that Gaussian's.
  auto actnorm = std::make_shared<fi::ActNorm>(2);
  {
    torch::NoGradGuard no_grad;
    auto parameters = actnorm->named_parameters();
    parameters["bias"].copy_(torch::tensor({-1.0f, 2.0f}));                // mean (1, -2)
    parameters["log_scale"].copy_(torch::tensor({std::log(0.5f), 0.0f}));  // std (2, 1)
    actnorm->named_buffers()["initialized"].fill_(1.0);
  }
  fi::Flow flow({actnorm}, {2});
  const auto x = torch::tensor({{3.0f, -1.0f}});
  const double expected = -std::log(2.0 * M_PI) - std::log(2.0) - 0.5 * (1.0 + 1.0);
  EXPECT_NEAR(flow.log_prob(x).item<double>(), expected, 1e-5);
}

TEST(Flow, NonFiniteValuesThrowNamingTheLayer) {
  torch::manual_seed(2);
  fi::FlowOptions options;
  options.kind = fi::FlowKind::kRealNvp;
  options.num_layers = 3;
  options.hidden = 8;
  auto flow = fi::build_flow(options);  // actnorm, coupling, actnorm, coupling, ...
  flow->initialize(torch::randn({32, 2}));
  // A non-finite input is caught at the first layer.
  const auto bad = torch::tensor({{0.0f, NAN}, {1.0f, 1.0f}});
  const std::string first = message_of([&] { flow->log_prob(bad); });
  EXPECT_NE(first.find("layer 0 (actnorm)"), std::string::npos) << first;
  EXPECT_THROW(flow->log_prob(bad), std::runtime_error);
  // A layer deep in the stack whose scale overflows is named, not the first one.
  {
    torch::NoGradGuard no_grad;
    flow->named_parameters()["flow.layers.2.log_scale"].fill_(200.0);
  }
  const std::string deep = message_of([&] { flow->log_prob(torch::randn({4, 2})); });
  EXPECT_NE(deep.find("layer 2 (actnorm)"), std::string::npos) << deep;
  EXPECT_NE(deep.find("non-finite"), std::string::npos) << deep;
  // With the check off, the same call returns non-finite values silently.
  flow->set_check_finite(false);
  EXPECT_FALSE(torch::isfinite(flow->log_prob(torch::randn({4, 2}))).all().item<bool>());
}

TEST(Flow, NonFiniteValuesInsideASplitNameThePath) {
  torch::manual_seed(3);
  fi::FlowOptions options;
  options.kind = fi::FlowKind::kGlow;
  options.shape = {1, 8, 8};
  options.num_levels = 2;
  options.steps_per_level = 1;
  options.hidden = 8;
  auto flow = fi::build_flow(options);
  auto generator = fi::make_generator(4);
  const auto x = torch::randint(256, {4, 1, 8, 8}, generator, torch::kFloat32) / 127.5 - 1.0;
  flow->initialize(x);
  {
    torch::NoGradGuard no_grad;
    for (auto& item : flow->named_parameters()) {
      // The first ActNorm below the split.
      if (item.key().find("inner") != std::string::npos &&
          item.key().find("log_scale") != std::string::npos) {
        item.value().fill_(500.0);
        break;
      }
    }
  }
  const std::string message = message_of([&] { flow->log_prob(x); });
  EXPECT_NE(message.find("(split) > "), std::string::npos) << message;
  EXPECT_NE(message.find("(actnorm)"), std::string::npos) << message;
}

TEST(Flow, ActNormInitializesToZeroMeanUnitVarianceOnce) {
  auto generator = fi::make_generator(5);
  // Vectors: per feature.
  fi::ActNorm vector_norm(3);
  const auto x = torch::randn({64, 3}, generator) * torch::tensor({2.0f, 0.1f, 5.0f}) +
                 torch::tensor({1.0f, -3.0f, 0.0f});
  const auto z = vector_norm.forward(x, {}).z;
  EXPECT_LT(z.mean(0).abs().max().item<double>(), 1e-5);
  EXPECT_LT(((z - z.mean(0)).pow(2).mean(0) - 1.0).abs().max().item<double>(), 1e-4);
  // Images: per channel over batch and pixels.
  fi::ActNorm image_norm(2);
  const auto images = torch::randn({8, 2, 5, 5}, generator) * 3.0 + 2.0;
  const auto zi = image_norm.forward(images, {}).z.transpose(0, 1).reshape({2, -1});
  EXPECT_LT(zi.mean(1).abs().max().item<double>(), 1e-5);
  EXPECT_LT(((zi - zi.mean(1, true)).pow(2).mean(1) - 1.0).abs().max().item<double>(), 1e-4);
  EXPECT_NEAR(image_norm.forward(images, {}).logdet[0].item<double>(),
              25.0 * image_norm.named_parameters()["log_scale"].sum().item<double>(), 1e-3);

  // A second batch does not re-initialize; a copy of the weights with the flag loaded does not
  // either (as after loading a checkpoint), while a fresh layer would.
  const auto other = torch::randn({64, 3}, generator) * 10.0;
  const auto before = vector_norm.named_parameters()["bias"].clone();
  vector_norm.forward(other, {});
  EXPECT_TRUE(torch::equal(before, vector_norm.named_parameters()["bias"]));
  fi::ActNorm loaded(3);
  {
    torch::NoGradGuard no_grad;
    for (auto& item : loaded.named_parameters()) {
      item.value().copy_(vector_norm.named_parameters()[item.key()]);
    }
    for (auto& item : loaded.named_buffers()) {
      item.value().copy_(vector_norm.named_buffers()[item.key()]);
    }
  }
  EXPECT_TRUE(loaded.initialized());
  EXPECT_TRUE(torch::allclose(loaded.forward(other, {}).z, vector_norm.forward(other, {}).z));
  EXPECT_TRUE(loaded.named_buffers().contains("initialized"));
}

TEST(FlowBuilder, EveryKindBuildsWithTheRightShapes) {
  torch::manual_seed(6);
  for (const auto kind :
       {fi::FlowKind::kRealNvp, fi::FlowKind::kMaf, fi::FlowKind::kNice, fi::FlowKind::kGlow}) {
    fi::FlowOptions options;
    options.kind = kind;
    options.shape = {3};
    options.num_layers = 2;
    options.hidden = 8;
    auto flow = fi::build_flow(options);
    EXPECT_EQ(flow->latent_shape(), (std::vector<std::int64_t>{3})) << fi::to_string(kind);
    fi::testing::perturb_parameters(*flow, 0.1, 7);
    const auto x = torch::randn({5, 3});
    EXPECT_EQ(flow->log_prob(x).sizes(), (std::vector<std::int64_t>{5}));
    fi::testing::expect_round_trip(flow->layers(), x, {}, fi::to_string(kind));
    EXPECT_EQ(fi::parse_flow_kind(fi::to_string(kind)), kind);
  }
  // Fashion-MNIST shapes: 28 -> 14 -> 7, flat latent of 784 dimensions when splitting.
  fi::FlowOptions glow;
  glow.kind = fi::FlowKind::kGlow;
  glow.shape = {1, 28, 28};
  glow.num_levels = 2;
  glow.steps_per_level = 1;
  glow.hidden = 8;
  EXPECT_EQ(fi::build_flow(glow)->latent_shape(), (std::vector<std::int64_t>{784}));
  glow.num_levels = 1;
  EXPECT_EQ(fi::build_flow(glow)->latent_shape(), (std::vector<std::int64_t>{4, 14, 14}));
  glow.kind = fi::FlowKind::kRealNvp;
  glow.num_levels = 2;
  EXPECT_EQ(fi::build_flow(glow)->num_dims(), 784);
}

TEST(FlowBuilder, RejectsBadOptionsNamingThem) {
  fi::FlowOptions options;
  options.shape = {1, 28, 28};
  options.num_levels = 3;  // 28 is not divisible by 8
  EXPECT_NE(message_of([&] { fi::build_flow(options); }).find("divisible by 8"), std::string::npos);
  options.num_levels = 2;
  options.kind = fi::FlowKind::kMaf;
  EXPECT_THROW(fi::build_flow(options), std::invalid_argument);
  options = fi::FlowOptions{};
  options.shape = {2};
  options.cond_channels = 1;
  EXPECT_THROW(fi::build_flow(options), std::invalid_argument);
  options.cond_channels = 0;
  options.shape = {1};
  EXPECT_THROW(fi::build_flow(options), std::invalid_argument);
  options.shape = {2};
  options.mask = fi::MaskKind::kChannel;
  EXPECT_THROW(fi::build_flow(options), std::invalid_argument);
  const std::string names = message_of([] { fi::parse_flow_kind("iaf"); });
  EXPECT_NE(names.find("realnvp, maf, nice, glow"), std::string::npos) << names;
  EXPECT_NE(names.find("'iaf'"), std::string::npos) << names;
}

TEST(FlowBuilder, ClassConditionChangesTheDensity) {
  torch::manual_seed(8);
  fi::FlowOptions options;
  options.kind = fi::FlowKind::kMaf;
  options.shape = {2};
  options.num_layers = 2;
  options.hidden = 8;
  options.num_classes = 4;
  auto flow = fi::build_flow(options);
  fi::testing::perturb_parameters(*flow, 0.3, 9);
  const auto x = torch::randn({3, 2});
  const auto a = flow->log_prob(x, torch::full({3}, 0, torch::kInt64));
  const auto b = flow->log_prob(x, torch::full({3}, 2, torch::kInt64));
  EXPECT_GT(fi::testing::max_abs_diff(a, b), 1e-3);
  EXPECT_THROW(flow->log_prob(x), std::invalid_argument);
  auto generator = fi::make_generator(10);
  const auto labels = torch::tensor({1, 3}, torch::kInt64);
  const auto samples = flow->sample(2, 1.0, generator, labels);
  // Sampling with the condition inverts the density with the same condition.
  EXPECT_LT(
      fi::testing::max_abs_diff(flow->inverse(flow->forward(samples, labels).z, labels), samples),
      1e-5);
}

// A 2D RealNVP trained for about a second (300 Adam steps) on the 4x4 checkerboard: its NLL drops,
// and a histogram of its samples agrees with exp(log_prob) integrated over the same cells, which a
// flipped sign of the log-determinant would break.
TEST(FlowTraining, RealNvpOnTheCheckerboardLearnsAndSamplesMatchTheDensity) {
  torch::manual_seed(10);
  fi::FlowOptions options;
  options.kind = fi::FlowKind::kRealNvp;
  options.shape = {2};
  options.num_layers = 6;
  options.hidden = 32;
  auto flow = fi::build_flow(options);
  const fi::Checkerboard board(4);
  auto data_generator = fi::make_generator(11);
  const auto test_points = board.sample(4096, data_generator);
  flow->initialize(board.sample(512, data_generator));
  const double nll_before = -flow->log_prob(test_points).mean().item<double>();

  torch::optim::Adam optimizer(flow->parameters(), torch::optim::AdamOptions(3e-3));
  const auto start = std::chrono::steady_clock::now();
  for (int step = 0; step < 300; ++step) {
    const auto batch = board.sample(256, data_generator);
    const auto loss = -flow->log_prob(batch).mean();
    optimizer.zero_grad();
    loss.backward();
    optimizer.step();
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  torch::NoGradGuard no_grad;
  const double nll_after = -flow->log_prob(test_points).mean().item<double>();
  std::cout << "[ realnvp 2D ] NLL " << nll_before << " -> " << nll_after << " nats in " << seconds
            << " s (entropy " << board.entropy() << ")\n";
  EXPECT_LT(nll_after, nll_before - 0.3);

  // Cells of 1x1 over [-5, 5]^2; the model's mass per cell by the midpoint rule on 8x8 points.
  const int cells = 10, sub = 8;
  const double lo = -5.0, cell = 1.0;
  auto sample_generator = fi::make_generator(12);
  const std::int64_t n = 30000;
  const auto samples = flow->sample(n, 1.0, sample_generator).to(torch::kFloat64);
  const auto cell_index = ((samples - lo) / cell).floor().to(torch::kInt64);
  const auto inside = ((cell_index >= 0) & (cell_index < cells)).all(1);
  const auto flat =
      (cell_index.select(1, 0) * cells + cell_index.select(1, 1)).masked_select(inside);
  const auto histogram =
      torch::bincount(flat, {}, cells * cells).to(torch::kFloat64) / static_cast<double>(n);

  const auto offsets = (torch::arange(sub, torch::kFloat64) + 0.5) * (cell / sub);
  const auto axis =
      (lo + torch::arange(cells, torch::kFloat64).view({cells, 1}) * cell + offsets.view({1, sub}))
          .reshape({-1});  // cells * sub points per axis, cell-major
  const auto grid_x = axis.view({-1, 1}).expand({cells * sub, cells * sub});
  const auto grid_y = axis.view({1, -1}).expand({cells * sub, cells * sub});
  const auto points =
      torch::stack({grid_x.reshape({-1}), grid_y.reshape({-1})}, 1).to(torch::kFloat32);
  const auto out = flow->forward(points);
  const auto base = -0.5 * out.z.pow(2).sum(1) - std::log(2.0 * M_PI);
  const double area = (cell / sub) * (cell / sub);
  auto cell_mass = [&](const torch::Tensor& log_density) {
    return (log_density.to(torch::kFloat64).exp() * area)
        .view({cells, sub, cells, sub})
        .sum({1, 3})
        .reshape({-1});
  };
  const auto model_mass = cell_mass(base + out.logdet);
  const auto flipped_mass = cell_mass(base - out.logdet);
  const double tv = 0.5 * (model_mass - histogram).abs().sum().item<double>();
  const double tv_flipped = 0.5 * (flipped_mass - histogram).abs().sum().item<double>();
  std::cout << "[ realnvp 2D ] total variation samples vs density " << tv << " (flipped logdet "
            << tv_flipped << ")\n";
  EXPECT_LT(tv, 0.045);
  EXPECT_GT(tv_flipped, 0.2);
}
