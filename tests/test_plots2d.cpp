#include <gtest/gtest.h>
#include <torch/types.h>

#include <bitset>

#include "flowinone/fonts/bitmap_font.h"
#include "flowinone/io/gif.h"
#include "flowinone/viz/canvas.h"
#include "flowinone/viz/plots2d.h"

namespace {

bool is_white(const fi::Image& image, int x, int y) {
  const std::uint8_t* p = image.at(x, y);
  return p[0] == 255 && p[1] == 255 && p[2] == 255;
}

// Non-white pixels in the box [x0, x1) x [y0, y1).
int count_nonwhite(const fi::Image& image, int x0, int y0, int x1, int y1) {
  int count = 0;
  for (int y = y0; y < y1; ++y) {
    for (int x = x0; x < x1; ++x) count += is_white(image, x, y) ? 0 : 1;
  }
  return count;
}

}  // namespace

TEST(Plots2d, DensityShowsPointsWhereTheyAreAndWhiteElsewhere) {
  torch::manual_seed(0);
  // All points in the upper-right quadrant (x > 0, y > 0): the top-right of the picture.
  const torch::Tensor points = torch::rand({20000, 2}) * 3.0 + 0.5;
  fi::PlotOptions options;
  options.size = 200;
  const fi::Image image = fi::density_image(points, options);
  EXPECT_EQ(image.width, 200);
  EXPECT_EQ(image.height, 200);
  EXPECT_EQ(image.channels, 3);
  // World [0.5, 3.5]^2 covers pixels x in [111, 178], y in [22, 89]; look well inside.
  EXPECT_GT(count_nonwhite(image, 115, 25, 175, 85), 60 * 60 * 95 / 100);
  EXPECT_EQ(count_nonwhite(image, 2, 102, 98, 198), 0);  // bottom-left, inside the border
}

TEST(Plots2d, DensityAcceptsDoubleInputAndRejectsBadShapes) {
  const fi::Image image = fi::density_image(torch::zeros({10, 2}, torch::kFloat64));
  EXPECT_EQ(image.width, 512);
  EXPECT_FALSE(is_white(image, 256, 256));
  EXPECT_THROW(fi::density_image(torch::zeros({10, 3})), std::invalid_argument);
  fi::PlotOptions bad;
  bad.extent = -1;
  EXPECT_THROW(fi::density_image(torch::zeros({10, 2}), bad), std::invalid_argument);
}

TEST(Plots2d, VectorFieldOfConstantFlowDrawsArrows) {
  fi::PlotOptions options;
  options.size = 240;
  int calls = 0;
  const fi::VelocityFn rightward = [&](const torch::Tensor& x, double) {
    ++calls;
    EXPECT_EQ(x.size(1), 2);
    return torch::stack({torch::ones({x.size(0)}), torch::zeros({x.size(0)})}, 1);
  };
  const fi::Image image = fi::vector_field_image(rightward, 0.5, 12, options);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(image.width, 240);
  EXPECT_EQ(image.height, 240);
  // Cells are 20 px; each holds a horizontal arrow of ~18 px through its center.
  const int inside = count_nonwhite(image, 2, 2, 238, 238);
  EXPECT_GT(inside, 144 * 15);
  // The row through a cell center is colored across the arrow, the row between cells is not.
  EXPECT_GT(count_nonwhite(image, 60, 70, 80, 71), 12);
  EXPECT_EQ(count_nonwhite(image, 60, 60, 80, 61), 0);
}

TEST(Plots2d, TrajectoriesMarkStartsAndEnds) {
  const torch::Tensor start = torch::tensor({{-2.0, 0.0}, {-2.0, 1.0}});
  const torch::Tensor end = torch::tensor({{2.0, 0.0}, {2.0, 1.0}});
  fi::PlotOptions options;
  options.size = 180;
  options.extent = 3.0;
  const fi::Image image = fi::trajectories_image({start, (start + end) / 2, end}, options);
  EXPECT_EQ(image.width, 180);
  // World (-2, 0) -> pixel (30, 90): blue-ish; (2, 0) -> (150, 90): orange-ish; gray between.
  const std::uint8_t* blue = image.at(30, 90);
  EXPECT_GT(blue[2], blue[0]);
  const std::uint8_t* orange = image.at(150, 90);
  EXPECT_GT(orange[0], orange[2]);
  EXPECT_FALSE(is_white(image, 90, 90));
  EXPECT_TRUE(is_white(image, 90, 150));
}

TEST(Plots2d, SideBySideAddsGapAndTitles) {
  const fi::Image a(50, 40, 3, 0);
  const fi::Image b(30, 40, 1, 0);
  const fi::Image plain = fi::side_by_side({a, b});
  EXPECT_EQ(plain.width, 50 + 8 + 30);
  EXPECT_EQ(plain.height, 40);
  EXPECT_TRUE(is_white(plain, 54, 20));
  EXPECT_FALSE(is_white(plain, 70, 20));
  const fi::Image titled = fi::side_by_side({a, b}, {"data", "model"});
  EXPECT_EQ(titled.width, plain.width);
  EXPECT_GT(titled.height, 40);
  const int band = titled.height - 40;
  EXPECT_GT(count_nonwhite(titled, 0, 0, 50, band), 10);  // the title's pixels
  EXPECT_THROW(fi::side_by_side({a, fi::Image(10, 20, 3)}), std::invalid_argument);
  EXPECT_THROW(fi::side_by_side({a, b}, {"only one"}), std::invalid_argument);
}

TEST(Plots2d, StackedVerticallyKeepsEachImageAndPadsWithWhite) {
  const fi::Image wide(50, 20, 3, 0);
  const fi::Image narrow(30, 10, 1, 0);
  const fi::Image stacked = fi::stacked_vertically({wide, narrow});
  EXPECT_EQ(stacked.width, 50);
  EXPECT_EQ(stacked.height, 20 + 8 + 10);
  EXPECT_FALSE(is_white(stacked, 45, 10));  // the wide image
  EXPECT_TRUE(is_white(stacked, 25, 24));   // the gap
  EXPECT_FALSE(is_white(stacked, 10, 33));  // the narrow one, left-aligned
  EXPECT_TRUE(is_white(stacked, 45, 33));   // padding beside it
  EXPECT_THROW(fi::stacked_vertically({}), std::invalid_argument);
  EXPECT_THROW(fi::stacked_vertically({fi::Image()}), std::invalid_argument);
}

TEST(Plots2d, FlowFramesOnePerStateWithAGrowingTimeBar) {
  const std::vector<torch::Tensor> states = {torch::zeros({5, 2}), torch::ones({5, 2}),
                                             torch::ones({5, 2}) * 2};
  fi::PlotOptions options;
  options.size = 128;
  const std::vector<fi::Image> frames = fi::flow_frames(states, {0.0, 0.5, 1.0}, options);
  ASSERT_EQ(frames.size(), 3u);
  // Count bar pixels (orange) along the bottom rows: strictly increasing over time.
  auto orange = [](const fi::Image& image) {
    int count = 0;
    for (int y = image.height - 12; y < image.height; ++y) {
      for (int x = 0; x < image.width; ++x) {
        const std::uint8_t* p = image.at(x, y);
        count += (p[0] > 200 && p[2] < 60) ? 1 : 0;
      }
    }
    return count;
  };
  EXPECT_LT(orange(frames[0]), orange(frames[1]));
  EXPECT_LT(orange(frames[1]), orange(frames[2]));
  for (const fi::Image& frame : frames) {
    EXPECT_EQ(frame.width, 128);
    EXPECT_EQ(frame.height, 128);
  }
  EXPECT_NO_THROW(fi::encode_gif(frames));
  EXPECT_THROW(fi::flow_frames(states, {0.0, 1.0}, options), std::invalid_argument);
}

TEST(Plots2d, FontHasGlyphsForLabelsAndMeasuresText) {
  for (char c : std::string("datmoelDATA t=0.5:()-")) {
    if (c == ' ') continue;
    int bits = 0;
    for (std::uint8_t row : fi::glyph_rows(c)) bits += int(std::bitset<8>(row).count());
    EXPECT_GT(bits, 0) << c;
  }
  EXPECT_NE(fi::glyph_rows('a'), fi::glyph_rows('b'));
  EXPECT_EQ(fi::text_width("ab", 2), 2 * 6 * 2 - 2);
  EXPECT_EQ(fi::text_width("", 3), 0);
}
