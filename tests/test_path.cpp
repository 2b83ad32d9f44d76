#include <gtest/gtest.h>

#include "flowinone/core/random.h"
#include "flowinone/paths/path.h"
#include "flowinone/paths/straight_path.h"

namespace {

torch::Tensor randn(std::vector<std::int64_t> shape, std::uint64_t seed) {
  at::Generator generator = fi::make_generator(seed);
  return torch::randn(shape, generator, torch::kFloat64);
}

}  // namespace

TEST(StraightPath, EndpointsWithoutNoise) {
  fi::StraightPath path(0.0);
  at::Generator generator = fi::make_generator(0);
  const auto x0 = randn({5, 2}, 1), x1 = randn({5, 2}, 2);
  const auto at0 = path.sample(x0, x1, torch::zeros({5}, torch::kFloat64), generator);
  const auto at1 = path.sample(x0, x1, torch::ones({5}, torch::kFloat64), generator);
  EXPECT_TRUE(torch::allclose(at0.xt, x0));
  EXPECT_TRUE(torch::allclose(at1.xt, x1));
  EXPECT_TRUE(torch::allclose(at0.ut, x1 - x0));
}

TEST(StraightPath, TargetIsTheTimeDerivativeOfTheMean) {
  fi::StraightPath path(0.0);
  at::Generator generator = fi::make_generator(0);
  const auto x0 = randn({7, 3, 4}, 3), x1 = randn({7, 3, 4}, 4);
  const auto t = torch::rand({7}, generator, torch::kFloat64) * 0.9 + 0.05;
  const double h = 1e-6;
  const auto forward = path.sample(x0, x1, t + h, generator).xt;
  const auto backward = path.sample(x0, x1, t - h, generator).xt;
  const auto finite_difference = (forward - backward) / (2 * h);
  EXPECT_TRUE(torch::allclose(finite_difference, path.sample(x0, x1, t, generator).ut, 1e-6, 1e-6));
}

TEST(StraightPath, NoiseHasStandardDeviationSigma) {
  const double sigma = 0.3;
  fi::StraightPath path(sigma);
  at::Generator generator = fi::make_generator(5);
  const auto x = torch::zeros({200000, 2}, torch::kFloat64);
  const auto sample = path.sample(x, x, torch::full({200000}, 0.5, torch::kFloat64), generator);
  EXPECT_NEAR(sample.xt.std().item<double>(), sigma, 0.005);
  EXPECT_NEAR(sample.xt.mean().item<double>(), 0.0, 0.005);
}

TEST(StraightPath, RejectsBadArguments) {
  EXPECT_THROW(fi::StraightPath(-0.1), std::invalid_argument);
  fi::StraightPath path(0.0);
  at::Generator generator = fi::make_generator(0);
  EXPECT_THROW(path.sample(torch::zeros({3, 2}), torch::zeros({3, 3}), torch::zeros({3}), generator),
               std::invalid_argument);
  EXPECT_THROW(path.sample(torch::zeros({3, 2}), torch::zeros({3, 2}), torch::zeros({4}), generator),
               std::invalid_argument);
}

TEST(Path, ParseListsValidNames) {
  EXPECT_EQ(fi::parse_path("straight"), fi::PathKind::kStraight);
  try {
    fi::parse_path("curvy");
    FAIL();
  } catch (const std::invalid_argument& error) {
    EXPECT_NE(std::string(error.what()).find("straight"), std::string::npos);
  }
}

TEST(Path, TimesAreUniformInUnitInterval) {
  at::Generator generator = fi::make_generator(9);
  const auto t = fi::sample_times(100000, generator, torch::kCPU);
  EXPECT_GE(t.min().item<float>(), 0.0f);
  EXPECT_LT(t.max().item<float>(), 1.0f);
  EXPECT_NEAR(t.mean().item<double>(), 0.5, 0.01);
}
