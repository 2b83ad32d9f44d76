#include <gtest/gtest.h>

#include <cmath>

#include "flowinone/eval/fid.h"

namespace {

fi::FeatureStatistics gaussian(const torch::Tensor& mean, const torch::Tensor& covariance) {
  fi::FeatureStatistics statistics;
  statistics.mean = mean.to(torch::kFloat64);
  statistics.covariance = covariance.to(torch::kFloat64);
  statistics.count = 1000;
  return statistics;
}

// A random orthogonal matrix (D, D) from the QR decomposition of a Gaussian matrix.
torch::Tensor random_rotation(std::int64_t d) {
  return std::get<0>(torch::linalg_qr(torch::randn({d, d}, torch::kFloat64)));
}

}  // namespace

TEST(FeatureStatistics, MatchBruteForceMeanAndCovariance) {
  torch::manual_seed(0);
  const auto features = torch::randn({7, 3}, torch::kFloat32);
  const auto statistics = fi::feature_statistics(features);
  const auto x = features.to(torch::kFloat64);
  EXPECT_EQ(statistics.count, 7);
  for (int i = 0; i < 3; ++i) {
    double mean_i = 0;
    for (int n = 0; n < 7; ++n) mean_i += x[n][i].item<double>() / 7;
    EXPECT_NEAR(statistics.mean[i].item<double>(), mean_i, 1e-12);
    for (int j = 0; j < 3; ++j) {
      double mean_j = 0, sum = 0;
      for (int n = 0; n < 7; ++n) mean_j += x[n][j].item<double>() / 7;
      for (int n = 0; n < 7; ++n)
        sum += (x[n][i].item<double>() - mean_i) * (x[n][j].item<double>() - mean_j);
      EXPECT_NEAR(statistics.covariance[i][j].item<double>(), sum / 6, 1e-12);
    }
  }
  EXPECT_EQ(statistics.mean.scalar_type(), torch::kFloat64);
}

TEST(FrechetDistance, IdenticalSetsAreAtZero) {
  torch::manual_seed(1);
  const auto features = torch::randn({500, 16}) * 3 + 1;
  EXPECT_NEAR(fi::frechet_distance(features, features), 0.0, 1e-8);
  // Rank-deficient covariance (fewer samples than dimensions): still ~0, never negative.
  const auto few = torch::randn({5, 20});
  const double distance = fi::frechet_distance(few, few);
  EXPECT_GE(distance, 0.0);
  EXPECT_NEAR(distance, 0.0, 1e-8);
}

TEST(FrechetDistance, DiagonalGaussiansMatchTheClosedForm) {
  // d^2 = |mu1 - mu2|^2 + sum_i (sqrt(a_i) - sqrt(b_i))^2 for diagonal covariances.
  torch::manual_seed(2);
  const std::int64_t d = 12;
  const auto mu1 = torch::randn({d}, torch::kFloat64), mu2 = torch::randn({d}, torch::kFloat64);
  const auto a = torch::rand({d}, torch::kFloat64) * 4 + 0.1;
  const auto b = torch::rand({d}, torch::kFloat64) * 2 + 0.05;
  const double expected =
      (mu1 - mu2).pow(2).sum().item<double>() + (a.sqrt() - b.sqrt()).pow(2).sum().item<double>();
  const double distance =
      fi::frechet_distance(gaussian(mu1, torch::diag(a)), gaussian(mu2, torch::diag(b)));
  EXPECT_NEAR(distance, expected, 1e-6);
  // The same Gaussians in rotated coordinates (commuting covariances): the distance is invariant.
  const auto q = random_rotation(d);
  const auto rotated = fi::frechet_distance(
      gaussian(torch::matmul(q, mu1), torch::matmul(q, torch::matmul(torch::diag(a), q.t()))),
      gaussian(torch::matmul(q, mu2), torch::matmul(q, torch::matmul(torch::diag(b), q.t()))));
  EXPECT_NEAR(rotated, expected, 1e-6);
}

TEST(FrechetDistance, NonCommutingTwoByTwoMatchesTheClosedForm) {
  // For 2x2 SPD S1, S2: tr((S1 S2)^{1/2}) = sqrt(tr(S1 S2) + 2 sqrt(det S1 det S2)), since the
  // eigenvalues of S1 S2 are real and non-negative.
  const auto s1 = torch::tensor({{2.0, 0.6}, {0.6, 1.0}}, torch::kFloat64);
  const auto s2 = torch::tensor({{0.5, -0.3}, {-0.3, 3.0}}, torch::kFloat64);
  const auto mu1 = torch::tensor({1.0, -2.0}, torch::kFloat64);
  const auto mu2 = torch::tensor({0.5, 0.0}, torch::kFloat64);
  const double product_trace = torch::matmul(s1, s2).trace().item<double>();
  const double determinant = torch::det(s1).item<double>() * torch::det(s2).item<double>();
  const double trace_root = std::sqrt(product_trace + 2 * std::sqrt(determinant));
  const double expected = (mu1 - mu2).pow(2).sum().item<double>() + s1.trace().item<double>() +
                          s2.trace().item<double>() - 2 * trace_root;
  EXPECT_NEAR(fi::frechet_distance(gaussian(mu1, s1), gaussian(mu2, s2)), expected, 1e-9);
  EXPECT_NEAR(fi::frechet_distance(gaussian(mu2, s2), gaussian(mu1, s1)), expected, 1e-9);
}

TEST(FrechetDistance, SampledGaussiansApproachTheClosedForm) {
  torch::manual_seed(3);
  const std::int64_t n = 20000, d = 4;
  const auto a = torch::tensor({1.0, 2.0, 0.5, 4.0}, torch::kFloat64);
  const auto b = torch::tensor({1.5, 1.0, 0.5, 1.0}, torch::kFloat64);
  const auto first = torch::randn({n, d}, torch::kFloat64) * a.sqrt();
  const auto second = torch::randn({n, d}, torch::kFloat64) * b.sqrt() + 0.5;
  const double expected = d * 0.25 + (a.sqrt() - b.sqrt()).pow(2).sum().item<double>();
  EXPECT_NEAR(fi::frechet_distance(first, second), expected, 0.05);
}

TEST(FrechetDistance, SymmetricSqrtSquaresBack) {
  torch::manual_seed(4);
  const auto m = torch::randn({6, 6}, torch::kFloat64);
  const auto spd = torch::matmul(m, m.t());
  const auto root = fi::symmetric_sqrt(spd);
  EXPECT_TRUE(torch::allclose(torch::matmul(root, root), spd, 1e-9, 1e-9));
  EXPECT_TRUE(torch::allclose(root, root.t()));
}

TEST(FrechetDistance, RejectsBadInputs) {
  EXPECT_THROW(fi::feature_statistics(torch::randn({1, 3})), std::invalid_argument);
  EXPECT_THROW(fi::feature_statistics(torch::randn({5})), std::invalid_argument);
  EXPECT_THROW(fi::feature_statistics(torch::ones({4, 2}, torch::kInt64)), std::invalid_argument);
  auto with_nan = torch::randn({4, 2});
  with_nan[1][1] = NAN;
  EXPECT_THROW(fi::feature_statistics(with_nan), std::invalid_argument);
  EXPECT_THROW(fi::frechet_distance(torch::randn({10, 3}), torch::randn({10, 4})),
               std::invalid_argument);
  EXPECT_THROW(fi::frechet_distance(fi::FeatureStatistics{}, fi::FeatureStatistics{}),
               std::invalid_argument);
}
