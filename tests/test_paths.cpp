#include <gtest/gtest.h>

#include <cmath>

#include "flowinone/core/random.h"
#include "flowinone/paths/bridge_path.h"
#include "flowinone/paths/path.h"
#include "flowinone/paths/straight_path.h"
#include "flowinone/paths/target_path.h"
#include "flowinone/paths/vp_path.h"

namespace {

torch::Tensor randn(std::vector<std::int64_t> shape, std::uint64_t seed) {
  at::Generator generator = fi::make_generator(seed);
  return torch::randn(shape, generator, torch::kFloat64);
}

fi::PathSample sample_with_seed(const fi::ProbabilityPath& path, const torch::Tensor& x0,
                                const torch::Tensor& x1, const torch::Tensor& t,
                                std::uint64_t seed) {
  at::Generator generator = fi::make_generator(seed);
  return path.sample(x0, x1, t, generator);
}

// u_t against the central difference of x_t in t, the noise held fixed by reusing one seed.
void expect_velocity_is_time_derivative(const fi::ProbabilityPath& path) {
  SCOPED_TRACE(path.name());
  const auto x0 = randn({7, 3, 4}, 3), x1 = randn({7, 3, 4}, 4);
  at::Generator generator = fi::make_generator(11);
  const auto t = torch::rand({7}, generator, torch::kFloat64) * 0.9 + 0.05;
  const double h = 1e-6;
  const auto forward = sample_with_seed(path, x0, x1, t + h, 21).xt;
  const auto backward = sample_with_seed(path, x0, x1, t - h, 21).xt;
  const auto finite_difference = (forward - backward) / (2 * h);
  const auto ut = sample_with_seed(path, x0, x1, t, 21).ut;
  EXPECT_TRUE(torch::allclose(finite_difference, ut, 1e-6, 1e-6))
      << (finite_difference - ut).abs().max().item<double>();
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
  EXPECT_THROW(
      path.sample(torch::zeros({3, 2}), torch::zeros({3, 3}), torch::zeros({3}), generator),
      std::invalid_argument);
  EXPECT_THROW(
      path.sample(torch::zeros({3, 2}), torch::zeros({3, 2}), torch::zeros({4}), generator),
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

TEST(Path, SkewedTimesFollowTheirDistribution) {
  // t = 1 - (1 - u)^k: P(t > 1 - e) = e^(1/k) and E[t] = k / (k + 1).
  at::Generator generator = fi::make_generator(10);
  const double skew = 3.0;
  const auto t = fi::sample_times(200000, generator, torch::kCPU, skew);
  EXPECT_GE(t.min().item<float>(), 0.0f);
  EXPECT_LE(t.max().item<float>(), 1.0f);
  EXPECT_NEAR(t.mean().item<double>(), skew / (skew + 1), 0.005);
  EXPECT_NEAR((t > 0.9).to(torch::kFloat64).mean().item<double>(), std::pow(0.1, 1 / skew), 0.005);
  EXPECT_THROW(fi::sample_times(10, generator, torch::kCPU, 0.5), std::invalid_argument);
}

TEST(Path, VelocityIsTheTimeDerivativeAlongFixedNoise) {
  expect_velocity_is_time_derivative(fi::StraightPath(0.2));
  expect_velocity_is_time_derivative(fi::VpPath(0.0));
  expect_velocity_is_time_derivative(fi::VpPath(0.2));
  expect_velocity_is_time_derivative(fi::BridgePath(0.5));
  expect_velocity_is_time_derivative(fi::TargetPath(0.0));
  expect_velocity_is_time_derivative(fi::TargetPath(0.05));
}

TEST(Path, KindsRoundTripThroughNamesAndFactory) {
  for (const auto kind :
       {fi::PathKind::kStraight, fi::PathKind::kVp, fi::PathKind::kBridge, fi::PathKind::kTarget}) {
    EXPECT_EQ(fi::parse_path(fi::to_string(kind)), kind);
    EXPECT_EQ(fi::make_path(kind, 0.1)->name(), fi::to_string(kind));
  }
  try {
    fi::parse_path("curvy");
    FAIL();
  } catch (const std::invalid_argument& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("curvy"), std::string::npos) << message;
    EXPECT_NE(message.find("vp, bridge, target"), std::string::npos) << message;
  }
}

TEST(VpPath, EndpointsWithoutNoise) {
  fi::VpPath path(0.0);
  const auto x0 = randn({5, 2}, 1), x1 = randn({5, 2}, 2);
  const auto at0 = sample_with_seed(path, x0, x1, torch::zeros({5}, torch::kFloat64), 0);
  const auto at1 = sample_with_seed(path, x0, x1, torch::ones({5}, torch::kFloat64), 0);
  EXPECT_TRUE(torch::allclose(at0.xt, x0));
  EXPECT_TRUE(torch::allclose(at1.xt, x1));
  EXPECT_TRUE(torch::allclose(at0.ut, M_PI / 2 * x1));
  EXPECT_TRUE(torch::allclose(at1.ut, -M_PI / 2 * x0));
}

TEST(VpPath, PreservesUnitVariance) {
  fi::VpPath path(0.0);
  const auto x0 = randn({100000, 2}, 1), x1 = randn({100000, 2}, 2);
  const auto sample =
      sample_with_seed(path, x0, x1, torch::full({100000}, 0.3, torch::kFloat64), 0);
  EXPECT_NEAR(sample.xt.std().item<double>(), 1.0, 0.01);
}

TEST(BridgePath, PinnedAtTheEndpoints) {
  fi::BridgePath path(0.7);
  const auto x0 = randn({5, 2}, 1), x1 = randn({5, 2}, 2);
  const auto at0 = sample_with_seed(path, x0, x1, torch::zeros({5}, torch::kFloat64), 0);
  const auto at1 = sample_with_seed(path, x0, x1, torch::ones({5}, torch::kFloat64), 0);
  EXPECT_TRUE(torch::allclose(at0.xt, x0));
  EXPECT_TRUE(torch::allclose(at1.xt, x1));
  EXPECT_TRUE(torch::isfinite(at0.ut).all().item<bool>());
  EXPECT_TRUE(torch::isfinite(at1.ut).all().item<bool>());
}

TEST(BridgePath, NoiseStdIsSigmaSqrtTOneMinusT) {
  const double sigma = 0.8, t = 0.2;
  fi::BridgePath path(sigma);
  const auto x = torch::zeros({200000, 2}, torch::kFloat64);
  const auto sample = sample_with_seed(path, x, x, torch::full({200000}, t, torch::kFloat64), 5);
  EXPECT_NEAR(sample.xt.std().item<double>(), sigma * std::sqrt(t * (1 - t)), 0.005);
  // u_t = (1 - 2t) / (2 t (1 - t)) (x_t - mu_t) + x1 - x0, the closed form of the paper.
  EXPECT_TRUE(torch::allclose(sample.ut, (1 - 2 * t) / (2 * t * (1 - t)) * sample.xt));
}

TEST(TargetPath, EndpointsAndVelocity) {
  const double sigma_min = 0.01;
  fi::TargetPath path(sigma_min);
  const auto x0 = randn({5, 2}, 1), x1 = randn({5, 2}, 2);
  const auto at0 = sample_with_seed(path, x0, x1, torch::zeros({5}, torch::kFloat64), 0);
  const auto at1 = sample_with_seed(path, x0, x1, torch::ones({5}, torch::kFloat64), 0);
  EXPECT_TRUE(torch::allclose(at0.xt, x0));
  EXPECT_TRUE(torch::allclose(at1.xt, x1 + sigma_min * x0));
  EXPECT_TRUE(torch::allclose(at0.ut, x1 - (1 - sigma_min) * x0));
  fi::TargetPath exact(0.0);
  EXPECT_TRUE(torch::allclose(
      sample_with_seed(exact, x0, x1, torch::ones({5}, torch::kFloat64), 0).xt, x1));
}

TEST(Path, RejectsBadSigmaAndSource) {
  EXPECT_THROW(fi::VpPath(-0.1), std::invalid_argument);
  EXPECT_THROW(fi::BridgePath(0.0), std::invalid_argument);
  EXPECT_THROW(fi::BridgePath(-1.0), std::invalid_argument);
  EXPECT_THROW(fi::TargetPath(-0.1), std::invalid_argument);
  EXPECT_THROW(fi::TargetPath(1.0), std::invalid_argument);
  EXPECT_THROW(fi::make_path(fi::PathKind::kBridge, 0.0), std::invalid_argument);
  EXPECT_THROW(fi::make_path(fi::PathKind::kStraight, -0.5), std::invalid_argument);
  try {
    fi::BridgePath(0.0);
    FAIL();
  } catch (const std::invalid_argument& error) {
    EXPECT_NE(std::string(error.what()).find("bridge path needs sigma > 0"), std::string::npos);
  }
  EXPECT_NO_THROW(fi::check_path_source(fi::PathKind::kTarget, "gaussian"));
  EXPECT_NO_THROW(fi::check_path_source(fi::PathKind::kStraight, "moons"));
  try {
    fi::check_path_source(fi::PathKind::kTarget, "moons");
    FAIL();
  } catch (const std::invalid_argument& error) {
    EXPECT_NE(std::string(error.what()).find("Gaussian source, got 'moons'"), std::string::npos)
        << error.what();
  }
  at::Generator generator = fi::make_generator(0);
  for (const auto kind : {fi::PathKind::kVp, fi::PathKind::kBridge, fi::PathKind::kTarget}) {
    const auto path = fi::make_path(kind, 0.1);
    EXPECT_THROW(
        path->sample(torch::zeros({3, 2}), torch::zeros({3, 3}), torch::zeros({3}), generator),
        std::invalid_argument);
    EXPECT_THROW(
        path->sample(torch::zeros({3, 2}), torch::zeros({3, 2}), torch::zeros({4}), generator),
        std::invalid_argument);
  }
}
