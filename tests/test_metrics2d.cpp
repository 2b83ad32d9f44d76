// 2D metrics on point sets whose answers are known exactly.
#include <gtest/gtest.h>
#include <torch/types.h>

#include <cmath>
#include <stdexcept>

#include "flowinone/core/random.h"
#include "flowinone/eval/evaluate2d.h"
#include "flowinone/eval/metrics2d.h"

namespace {

// m x m evenly spaced points inside every filled square of the board.
torch::Tensor balanced_grid(const fi::Checkerboard& board, int m) {
  std::vector<float> values;
  const double size = board.square_size();
  for (int i = 0; i < board.squares_per_side(); ++i) {
    for (int j = 0; j < board.squares_per_side(); ++j) {
      if (!board.is_filled(i, j)) continue;
      for (int a = 0; a < m; ++a) {
        for (int b = 0; b < m; ++b) {
          values.push_back(-board.half_width() + (i + (a + 0.5) / m) * size);
          values.push_back(-board.half_width() + (j + (b + 0.5) / m) * size);
        }
      }
    }
  }
  return torch::tensor(values).reshape({-1, 2});
}

}  // namespace

TEST(Metrics2d, BalancedGridIsPerfect) {
  for (const int k : {4, 8}) {
    const fi::Checkerboard board(k);
    const fi::CheckerboardMetrics metrics =
        fi::checkerboard_metrics(balanced_grid(board, 5), board);
    EXPECT_DOUBLE_EQ(metrics.in_square_fraction, 1.0);
    EXPECT_NEAR(metrics.square_balance, 0.0, 1e-12);
  }
}

TEST(Metrics2d, ImbalanceAndMissesAreMeasured) {
  const fi::Checkerboard board;
  // Square (0, 0) gets one extra point, and one point lands in an empty square.
  torch::Tensor samples = torch::cat(
      {balanced_grid(board, 2), torch::tensor({-3.5f, -3.5f, -3.0f, -1.0f}).reshape({2, 2})});
  const fi::CheckerboardMetrics metrics = fi::checkerboard_metrics(samples, board);
  EXPECT_DOUBLE_EQ(metrics.in_square_fraction, 33.0 / 34.0);
  // Counts 5, 4 x 7: mean 33 / 8; the worst is |5 - 33/8| / (33/8) = 7 / 33.
  EXPECT_NEAR(metrics.square_balance, 7.0 / 33.0, 1e-12);
}

TEST(Metrics2d, PointsOffTheBoardScoreZero) {
  const fi::Checkerboard board;
  const torch::Tensor samples = torch::full({10, 2}, 7.0f);
  const fi::CheckerboardMetrics metrics = fi::checkerboard_metrics(samples, board);
  EXPECT_EQ(metrics.in_square_fraction, 0.0);
  EXPECT_TRUE(std::isinf(metrics.square_balance));
  EXPECT_THROW(fi::checkerboard_metrics(torch::zeros({0, 2}), board), std::invalid_argument);
  EXPECT_THROW(fi::checkerboard_metrics(torch::zeros({4, 3}), board), std::invalid_argument);
}

TEST(Metrics2d, Wasserstein2OfASetWithItselfIsZero) {
  at::Generator generator = fi::make_generator(5);
  const torch::Tensor a = torch::randn({300, 2}, generator);
  EXPECT_NEAR(fi::wasserstein2(a, a), 0.0, 1e-12);
  // Order does not matter.
  const torch::Tensor shuffled = a.index_select(0, torch::randperm(300, generator));
  EXPECT_NEAR(fi::wasserstein2(a, shuffled), 0.0, 1e-12);
}

TEST(Metrics2d, Wasserstein2OfAShiftIsTheShiftLength) {
  at::Generator generator = fi::make_generator(6);
  const torch::Tensor a = torch::randn({300, 2}, generator, torch::kFloat64);
  const torch::Tensor shift = torch::tensor({0.6, -0.8}, torch::kFloat64);
  EXPECT_NEAR(fi::wasserstein2(a, a + shift), 1.0, 1e-9);
  EXPECT_NEAR(fi::wasserstein2(a + 3 * shift, a), 3.0, 1e-9);
}

TEST(Metrics2d, Wasserstein2RejectsMismatchedSets) {
  EXPECT_THROW(fi::wasserstein2(torch::zeros({3, 2}), torch::zeros({4, 2})), std::invalid_argument);
  EXPECT_THROW(fi::wasserstein2(torch::zeros({3, 2}), torch::zeros({3, 3})), std::invalid_argument);
  EXPECT_THROW(fi::wasserstein2(torch::zeros({0, 2}), torch::zeros({0, 2})), std::invalid_argument);
  EXPECT_THROW(fi::wasserstein2(torch::zeros({3}), torch::zeros({3})), std::invalid_argument);
}

TEST(PathEnergy, ZeroForStraightConstantSpeedAndPositiveForABend) {
  const auto start = torch::randn({50, 2}, torch::kFloat64);
  const auto shift = torch::randn({50, 2}, torch::kFloat64);
  std::vector<torch::Tensor> straight;
  std::vector<double> times;
  for (int k = 0; k <= 10; ++k) {
    times.push_back(k / 10.0);
    straight.push_back(start + shift * (k / 10.0));
  }
  EXPECT_NEAR(fi::normalized_path_energy(straight, times), 0.0, 1e-12);
  // A detour out along +y for half the time and back: v = shift +- (0, 1).
  std::vector<torch::Tensor> bent;
  const auto detour = torch::tensor({0.0, 1.0}, torch::kFloat64);
  for (int k = 0; k <= 10; ++k) {
    const double s = k / 10.0;
    bent.push_back(start + shift * s + detour * (s <= 0.5 ? s : 1.0 - s));
  }
  // Integral of ||v||^2 = ||shift||^2 + 1 (the +-2 shift_y cross terms cancel over the halves);
  // the displacement is still shift, so the energy is 1 / E||shift||^2.
  const double expected = 1.0 / shift.pow(2).sum(1).mean().item<double>();
  EXPECT_NEAR(fi::normalized_path_energy(bent, times), expected, 1e-9);
  EXPECT_THROW(fi::normalized_path_energy({start}, {0.0}), std::invalid_argument);
}
