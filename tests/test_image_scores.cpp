#include <gtest/gtest.h>

#include "flowinone/eval/image_scores.h"
#include "flowinone/io/image.h"
#include "flowinone/viz/image_grid.h"

TEST(ImageGrid, PlacesEachImageInItsCell) {
  // Three 2x3 gray images: -1, 0 and 1 everywhere; two columns.
  const torch::Tensor images =
      torch::stack({torch::full({1, 2, 3}, -1.0), torch::zeros({1, 2, 3}), torch::ones({1, 2, 3})});
  const fi::Image grid = fi::image_grid(images, 2, 1);
  EXPECT_EQ(grid.width, 1 + 2 * (3 + 1));
  EXPECT_EQ(grid.height, 1 + 2 * (2 + 1));
  EXPECT_EQ(grid.channels, 1);
  EXPECT_EQ(grid.at(1, 1)[0], 0);    // first image, top-left pixel
  EXPECT_EQ(grid.at(5, 2)[0], 128);  // second image: 0 -> 127.5 rounds to 128
  EXPECT_EQ(grid.at(1, 4)[0], 255);  // third image, second row
  EXPECT_EQ(grid.at(5, 4)[0], 48);   // no fourth image: background
  EXPECT_EQ(grid.at(0, 0)[0], 48);   // padding
  EXPECT_THROW(fi::image_grid(torch::zeros({2, 2, 3, 3}), 2), std::invalid_argument);
  EXPECT_THROW(fi::image_grid(torch::zeros({0, 1, 3, 3}), 2), std::invalid_argument);
  EXPECT_THROW(fi::image_grid(images, 0), std::invalid_argument);
}

TEST(GaussianFit, SamplesHaveTheDataMeanAndCovariance) {
  // Two correlated pixels (and two constant ones) well inside [-1, 1], so clamping is rare.
  const torch::Tensor z = torch::randn({4000, 2}, torch::kFloat64) * 0.2;
  const torch::Tensor a = z.select(1, 0) + 0.1;
  const torch::Tensor b = 0.8 * z.select(1, 0) + 0.6 * z.select(1, 1) - 0.2;
  const torch::Tensor data =
      torch::stack({a, b, torch::full_like(a, 0.5), torch::full_like(a, -0.5)}, 1)
          .reshape({4000, 1, 2, 2})
          .to(torch::kFloat32);
  const torch::Tensor samples = fi::gaussian_fit_samples(data, 20000, 3).reshape({20000, 4});
  EXPECT_EQ(samples.sizes(), (std::vector<std::int64_t>{20000, 4}));
  const torch::Tensor flat = data.reshape({4000, 4});
  EXPECT_TRUE(torch::allclose(samples.mean(0), flat.mean(0), 0, 0.01));
  const auto covariance = [](const torch::Tensor& x) {
    const torch::Tensor c = x - x.mean(0);
    return c.t().mm(c) / (x.size(0) - 1);
  };
  EXPECT_TRUE(torch::allclose(covariance(samples), covariance(flat), 0, 0.004))
      << covariance(samples) << covariance(flat);
  // Same seed, same samples.
  EXPECT_TRUE(
      torch::equal(fi::gaussian_fit_samples(data, 5, 3), fi::gaussian_fit_samples(data, 5, 3)));
  EXPECT_THROW(fi::gaussian_fit_samples(data, 0, 3), std::invalid_argument);
}
