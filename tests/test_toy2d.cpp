// Toy 2D datasets: the checkerboard's geometry and exact density, seeding, and the name registry.
#include <gtest/gtest.h>
#include <torch/types.h>

#include <cmath>
#include <stdexcept>
#include <string>

#include "flowinone/core/random.h"
#include "flowinone/data/toy2d.h"

TEST(Toy2d, CheckerboardSamplesLieInFilledSquares) {
  for (const int k : {4, 8}) {
    const fi::Checkerboard board(k, 4.0);
    at::Generator generator = fi::make_generator(3);
    const torch::Tensor points = board.sample(20000, generator);
    ASSERT_EQ(points.sizes(), (std::vector<std::int64_t>{20000, 2}));
    EXPECT_EQ(points.scalar_type(), torch::kFloat32);
    EXPECT_TRUE(board.in_filled_square(points).all().item<bool>()) << k << "x" << k;
    // Every filled square is used, none of the empty ones.
    const torch::Tensor index = board.square_index(points);
    const torch::Tensor counts = torch::bincount(index, {}, k * k);
    for (int i = 0; i < k; ++i) {
      for (int j = 0; j < k; ++j) {
        const auto count = counts[i * k + j].item<std::int64_t>();
        if (board.is_filled(i, j)) {
          EXPECT_GT(count, 0) << "square " << i << ", " << j;
        } else {
          EXPECT_EQ(count, 0) << "square " << i << ", " << j;
        }
      }
    }
  }
}

TEST(Toy2d, SquareIndexFollowsTheDocumentedLayout) {
  const fi::Checkerboard board;
  // (-4, -4) corner: column 0, row 0, filled; (-3, -1): column 0, row 1, empty.
  const torch::Tensor points =
      torch::tensor({-3.9, -3.9, -3.0, -1.0, 3.0, 3.0, 4.0, 0.0, -4.5, 0.0, 0.0, std::nan("")},
                    torch::kFloat64)
          .reshape({6, 2});
  const torch::Tensor index = board.square_index(points);
  EXPECT_EQ(index[0].item<std::int64_t>(), 0);
  EXPECT_EQ(index[1].item<std::int64_t>(), 1);
  EXPECT_EQ(index[2].item<std::int64_t>(), 3 * 4 + 3);
  EXPECT_EQ(index[3].item<std::int64_t>(), -1);  // the right edge is outside
  EXPECT_EQ(index[4].item<std::int64_t>(), -1);
  EXPECT_EQ(index[5].item<std::int64_t>(), -1);
  const torch::Tensor filled = board.in_filled_square(points);
  EXPECT_TRUE(filled[0].item<bool>());
  EXPECT_FALSE(filled[1].item<bool>());
  EXPECT_TRUE(filled[2].item<bool>());
  EXPECT_FALSE(filled[3].item<bool>());
  EXPECT_FALSE(filled[4].item<bool>());
  EXPECT_THROW(board.square_index(torch::zeros({3, 3})), std::invalid_argument);
}

TEST(Toy2d, CheckerboardDensityIntegratesToOneAndVanishesOnEmptySquares) {
  for (const int k : {4, 8}) {
    const fi::Checkerboard board(k, 4.0);
    // Midpoint rule on a grid over [-5, 5]^2 whose cells never straddle a square's edge.
    const int cells = 200;
    const double width = 10.0 / cells;
    const torch::Tensor axis = torch::arange(cells, torch::kFloat64) * width + (-5.0 + width / 2);
    const auto grid = torch::meshgrid({axis, axis}, "ij");
    const torch::Tensor points = torch::stack({grid[0].flatten(), grid[1].flatten()}, 1);
    const torch::Tensor density = board.density(points);
    EXPECT_EQ(density.scalar_type(), torch::kFloat64);
    EXPECT_NEAR(density.sum().item<double>() * width * width, 1.0, 1e-9) << k;
    const torch::Tensor empty = (board.square_index(points) >= 0) & ~board.in_filled_square(points);
    EXPECT_EQ(density.masked_select(empty).abs().sum().item<double>(), 0.0);
  }
}

TEST(Toy2d, CheckerboardCountsAndEntropy) {
  EXPECT_EQ(fi::Checkerboard(4).num_filled_squares(), 8);
  EXPECT_EQ(fi::Checkerboard(8).num_filled_squares(), 32);
  EXPECT_EQ(fi::Checkerboard(3).num_filled_squares(), 5);
  EXPECT_NEAR(fi::Checkerboard(4, 4.0).entropy(), std::log(32.0), 1e-12);
  EXPECT_NEAR(fi::Checkerboard(8, 4.0).entropy(), std::log(32.0), 1e-12);
  EXPECT_THROW(fi::Checkerboard(1), std::invalid_argument);
  EXPECT_THROW(fi::Checkerboard(4, 0.0), std::invalid_argument);
}

TEST(Toy2d, SameSeedSameSamplesDifferentSeedDifferentSamples) {
  for (const auto& name : fi::toy2d_names()) {
    const auto dataset = fi::make_toy2d(name);
    at::Generator a = fi::make_generator(42), b = fi::make_generator(42),
                  c = fi::make_generator(43);
    const torch::Tensor first = dataset->sample(500, a);
    EXPECT_TRUE(torch::equal(first, dataset->sample(500, b))) << name;
    EXPECT_FALSE(torch::equal(first, dataset->sample(500, c))) << name;
  }
}

TEST(Toy2d, EveryNamedDatasetGivesFiniteFloatPairs) {
  for (const auto& name : fi::toy2d_names()) {
    const auto dataset = fi::make_toy2d(name);
    EXPECT_EQ(dataset->name(), name);
    at::Generator generator = fi::make_generator(1);
    for (const std::int64_t n : {0, 1, 1001}) {
      const torch::Tensor points = dataset->sample(n, generator);
      ASSERT_EQ(points.sizes(), (std::vector<std::int64_t>{n, 2})) << name;
      EXPECT_EQ(points.scalar_type(), torch::kFloat32) << name;
      EXPECT_EQ(points.device().type(), torch::kCPU) << name;
      EXPECT_TRUE(torch::isfinite(points).all().item<bool>()) << name;
      if (n > 1) EXPECT_LT(points.abs().max().item<float>(), 10.0f) << name;
    }
    EXPECT_THROW(dataset->sample(-1, generator), std::invalid_argument) << name;
  }
}

TEST(Toy2d, UnknownNameThrowsListingTheNames) {
  try {
    fi::make_toy2d("swissroll");
    FAIL() << "no throw";
  } catch (const std::invalid_argument& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("[make_toy2d]"), std::string::npos) << message;
    EXPECT_NE(message.find("swissroll"), std::string::npos) << message;
    for (const auto& name : fi::toy2d_names()) {
      EXPECT_NE(message.find(name), std::string::npos) << message;
    }
  }
}
