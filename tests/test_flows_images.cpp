// Image flows: uniform dequantization and the logit transform counted in the log-determinant, so
// that log_prob is a density on the 8-bit scale; bits/dim; built image flows (RealNVP, Glow,
// class- and image-conditional Glow) invert exactly on the dequantized values and sample pixels.
#include <gtest/gtest.h>

#include <cmath>

#include "flowinone/core/random.h"
#include "flowinone/flows/bits_per_dim.h"
#include "flowinone/flows/dequantize.h"
#include "flowinone/flows/flow_builder.h"
#include "flowinone/flows/logit_transform.h"
#include "test_flows_helpers.h"

namespace {

torch::Tensor random_pixels(std::vector<std::int64_t> shape, std::uint64_t seed) {
  auto generator = fi::make_generator(seed);
  return torch::randint(256, shape, generator, torch::kFloat32) / 127.5 -
         1.0;  // symmetric encoding
}

double standard_normal_cdf(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

}  // namespace

TEST(Dequantize, NoiseStaysInsideEachLevelAndInverseRecoversThePixels) {
  fi::Dequantize layer(fi::PixelEncoding::kSymmetric, 1);
  const auto x = random_pixels({7, 1, 4, 4}, 2);
  const auto out = layer.forward(x, {});
  const auto levels = torch::round((x + 1.0) * 127.5);
  const auto u = out.z * 256.0 - levels;  // the noise, in [0, 1)
  EXPECT_GE(u.min().item<double>(), -1e-4);
  EXPECT_LT(u.max().item<double>(), 1.0);
  EXPECT_GT(u.std().item<double>(), 0.2);  // ~ 1/sqrt(12)
  EXPECT_TRUE(torch::equal(layer.inverse(out.z, {}), x));
  const auto single = random_pixels({1, 3, 2, 2}, 8);
  EXPECT_TRUE(torch::equal(layer.inverse(layer.forward(single, {}).z, {}), single));
  EXPECT_NEAR(out.logdet[0].item<double>(), -16.0 * std::log(256.0), 1e-3);
  // The unit encoding x = k / 255.
  fi::Dequantize unit(fi::PixelEncoding::kUnit, 1);
  const auto x_unit = torch::round((x + 1.0) * 127.5) / 255.0;
  EXPECT_LT(fi::testing::max_abs_diff(unit.forward(x_unit, {}).z, out.z), 1e-6);
  EXPECT_LT(fi::testing::max_abs_diff(unit.inverse(out.z, {}), x_unit), 1e-6);
  // Same seed, same noise; a shared generator advances.
  fi::Dequantize again(fi::PixelEncoding::kSymmetric, 1);
  EXPECT_TRUE(torch::equal(again.forward(x, {}).z, out.z));
  EXPECT_FALSE(torch::equal(again.forward(x, {}).z, out.z));
  EXPECT_THROW(fi::parse_pixel_encoding("bytes"), std::invalid_argument);
}

// With the -log 256 per dimension and the logit's log-determinant counted, exp(log_prob) is a
// density of k + u on [0, 256): summed over the 256 levels and averaged over u it integrates to
// the base mass that the logit's range [logit(alpha), logit(1 - alpha)) covers.
TEST(Dequantize, LogProbIsADensityOnTheEightBitScale) {
  const double alpha = 0.05;
  fi::Flow flow({std::make_shared<fi::Dequantize>(fi::PixelEncoding::kUnit, 3),
                 std::make_shared<fi::LogitTransform>(alpha)},
                {1});
  const int repeats = 400;
  const auto levels = torch::arange(256, torch::kFloat64).repeat({repeats}).view({-1, 1});
  flow.to(torch::kFloat64);
  const auto density = flow.log_prob(levels / 255.0).exp();
  const double integral = density.sum().item<double>() / repeats;  // each level has width 1
  const double edge = std::log(alpha / (1.0 - alpha));
  const double expected = standard_normal_cdf(-edge) - standard_normal_cdf(edge);
  EXPECT_NEAR(integral, expected, 0.01);
}

TEST(BitsPerDim, ConvertsNatsOnTheEightBitScale) {
  // A uniform density over the 256 levels is 8 bits per dimension.
  const std::int64_t dims = 784;
  EXPECT_NEAR(fi::bits_per_dim(dims * fi::kLog256, dims), 8.0, 1e-12);
  EXPECT_NEAR(fi::kLog256, std::log(256.0), 1e-15);
  // The unit-scale density of the same data is 256^D times larger: its NLL is D log 256 lower.
  EXPECT_NEAR(fi::nll_unit_to_8bit(0.0, dims), dims * std::log(256.0), 1e-9);
  EXPECT_NEAR(fi::bits_per_dim(fi::nll_unit_to_8bit(-dims * std::log(2.0), dims), dims), 7.0,
              1e-12);
  EXPECT_THROW(fi::bits_per_dim(1.0, 0), std::invalid_argument);
}

TEST(ImageFlows, BuiltFlowsInvertAndMatchTheirJacobian) {
  struct Setup {
    std::string name;
    fi::FlowKind kind;
    std::int64_t num_classes, cond_channels;
  };
  for (const Setup& setup :
       {Setup{"realnvp", fi::FlowKind::kRealNvp, 0, 0}, Setup{"glow", fi::FlowKind::kGlow, 0, 0},
        Setup{"nice", fi::FlowKind::kNice, 0, 0}, Setup{"cond-glow", fi::FlowKind::kGlow, 3, 0},
        Setup{"image-cond-glow", fi::FlowKind::kGlow, 0, 2}}) {
    torch::manual_seed(4);
    fi::FlowOptions options;
    options.kind = setup.kind;
    options.shape = {1, 4, 4};
    options.num_levels = 2;
    options.steps_per_level = 1;
    options.num_layers = 2;
    options.hidden = 6;
    options.num_classes = setup.num_classes;
    options.cond_channels = setup.cond_channels;
    auto flow = fi::build_flow(options);
    auto generator = fi::make_generator(5);
    auto make_cond = [&](std::int64_t batch) {
      if (setup.num_classes > 0) return torch::randint(3, {batch}, generator, torch::kInt64);
      if (setup.cond_channels > 0) return torch::randn({batch, 2, 4, 4}, generator);
      return torch::Tensor();
    };
    const auto init_cond = make_cond(16);
    flow->initialize(random_pixels({16, 1, 4, 4}, 6), init_cond);
    fi::testing::perturb_parameters(*flow, 0.1, 7);

    // Everything after dequantization is a smooth bijection of y in [0, 1)^D.
    std::vector<fi::BijectorPtr> body_layers;
    for (std::size_t i = 1; i < flow->layers().size(); ++i) {
      body_layers.push_back(flow->layers().layer(i));
    }
    fi::BijectorSequence body(body_layers);
    for (const std::int64_t batch : {1, 7}) {
      const auto y = 0.01 + 0.98 * torch::rand({batch, 1, 4, 4}, generator);
      fi::testing::expect_round_trip(body, y, make_cond(batch), setup.name, 1e-5);
    }
    const auto cond = make_cond(2);
    body.to(torch::kFloat64);
    const auto y64 = 0.01 + 0.98 * torch::rand({2, 1, 4, 4}, generator, torch::kFloat64);
    fi::testing::expect_logdet_matches_jacobian(
        body, y64, cond.defined() && cond.is_floating_point() ? cond.to(torch::kFloat64) : cond,
        setup.name);
    body.to(torch::kFloat32);

    // Samples are 8-bit images in the symmetric encoding.
    const auto sample_cond = make_cond(3);
    const auto samples = flow->sample(3, 0.7, generator, sample_cond);
    ASSERT_EQ(samples.sizes(), (std::vector<std::int64_t>{3, 1, 4, 4})) << setup.name;
    const auto levels = (samples + 1.0) * 127.5;
    EXPECT_LT(fi::testing::max_abs_diff(levels, torch::round(levels)), 1e-3) << setup.name;
    EXPECT_GE(samples.min().item<double>(), -1.0);
    EXPECT_LE(samples.max().item<double>(), 1.0);
    // log_prob of pixels is finite and, per dimension, a plausible number of bits.
    const auto log_prob = flow->log_prob(samples, sample_cond);
    const double bpd = fi::bits_per_dim(-log_prob.mean().item<double>(), flow->num_dims());
    EXPECT_TRUE(std::isfinite(bpd)) << setup.name;
    EXPECT_GT(bpd, 0.0) << setup.name;
  }
}
