// VisPrompt-mini generators: deterministic per seed, and each output differs from its input
// exactly where the task says, with the geometry its metadata claims.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "flowinone/prompts/image_measures.h"
#include "flowinone/prompts/prompt_task.h"
#include "flowinone/prompts/text_reader.h"

namespace fi {
namespace {

const SyntheticItems& items() {
  static const SyntheticItems instance(60);
  return instance;
}

TEST(PromptsTasks, NamesRoundTripAndUnknownNamesListTheValidOnes) {
  EXPECT_EQ(all_prompt_tasks().size(), 8u);
  for (PromptTask task : all_prompt_tasks()) EXPECT_EQ(parse_prompt_task(to_string(task)), task);
  try {
    parse_prompt_task("inpaint");
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("inpaint"), std::string::npos);
    EXPECT_NE(message.find("trajectory"), std::string::npos);
    EXPECT_NE(message.find("text_in_image"), std::string::npos);
  }
}

TEST(PromptsTasks, EveryTaskIsDeterministicPerSeedAndVariesWithIt) {
  for (PromptTask task : all_prompt_tasks()) {
    const PromptPair a = make_prompt_pair(task, items(), 11);
    const PromptPair b = make_prompt_pair(task, items(), 11);
    EXPECT_TRUE(a.input.equal(b.input)) << to_string(task);
    EXPECT_TRUE(a.output.equal(b.output)) << to_string(task);
    EXPECT_EQ(a.info.text, b.info.text);
    ASSERT_EQ(a.input.sizes(), (std::vector<std::int64_t>{1, 32, 32})) << to_string(task);
    ASSERT_EQ(a.output.sizes(), a.input.sizes());
    EXPECT_EQ(a.info.edit_mask.sizes(), a.input.sizes());
    EXPECT_GE(a.input.min().item<float>(), -1.0f);
    EXPECT_LE(a.output.max().item<float>(), 1.0f);
    EXPECT_FALSE(a.input.equal(a.output)) << to_string(task);
    // Some other seed gives another pair.
    bool differs = false;
    for (std::uint64_t seed = 12; seed < 20 && !differs; ++seed)
      differs = !make_prompt_pair(task, items(), seed).input.equal(a.input);
    EXPECT_TRUE(differs) << to_string(task);
  }
}

TEST(PromptsTasks, BoxEditBlanksTheBoxAndNothingElse) {
  for (std::uint64_t seed = 0; seed < 20; ++seed) {
    const PromptPair pair = make_prompt_pair(PromptTask::kBoxEdit, items(), seed);
    const auto& box = pair.info.box;
    EXPECT_TRUE(pair.output.narrow(1, box.y0, box.height())
                    .narrow(2, box.x0, box.width())
                    .eq(-1.0f)
                    .all()
                    .item<bool>());
    // Outside the box and the "erase" label, the output is the input, pixel for pixel.
    const torch::Tensor changed = pair.output.ne(pair.input);
    EXPECT_FALSE((changed & pair.info.edit_mask.logical_not()).any().item<bool>()) << seed;
    // The label strip is the only edited pixels outside the box.
    const torch::Tensor outside_box = pair.info.edit_mask.clone();
    outside_box.narrow(1, box.y0, box.height()).narrow(2, box.x0, box.width()).fill_(false);
    EXPECT_EQ(outside_box.narrow(1, 7, 25).any().item<bool>(), false) << seed;
    EXPECT_EQ(read_text(pair.input, 1, 1, 5, {}, 0).text, "ERASE");
  }
}

TEST(PromptsTasks, TextInImageWritesTheWordAtItsPlaceAndChangesNothingElse) {
  for (std::uint64_t seed = 0; seed < 10; ++seed) {
    const PromptPair pair = make_prompt_pair(PromptTask::kTextInImage, items(), seed);
    const auto& info = pair.info;
    const TextReading written =
        read_text(pair.output, info.word_x, info.word_y, int(info.word.size()), info.word_style, 0);
    EXPECT_TRUE(same_text_ignoring_case(written.text, info.word))
        << written.text << " " << info.word;
    const TextReading asked = read_text(pair.input, 1, 1, int(info.word.size()));
    EXPECT_TRUE(same_text_ignoring_case(asked.text, info.word)) << asked.text << " " << info.word;
    EXPECT_FALSE((pair.output.ne(pair.input) & info.edit_mask.logical_not()).any().item<bool>());
  }
}

TEST(PromptsTasks, ForceMovesTheBallAlongTheArrowByItsLength) {
  for (std::uint64_t seed = 0; seed < 20; ++seed) {
    const PromptPair pair = make_prompt_pair(PromptTask::kForce, items(), seed);
    const auto& info = pair.info;
    const CanvasPoint moved = bright_mass(pair.output).centroid;
    const double dx = moved.x - info.ball_start.x, dy = moved.y - info.ball_start.y;
    EXPECT_NEAR(std::hypot(dx, dy), info.arrow_length, 0.5) << seed;
    EXPECT_NEAR(moved.x, info.ball_center.x, 0.1);
    EXPECT_NEAR(moved.y, info.ball_center.y, 0.1);
    // The drawn arrow reaches the new centre: the input's ink farthest from the start lies
    // about one arrow length away, in the direction the ball moved.
    const auto pixels = pair.input.accessor<float, 3>();
    double farthest = 0, fx = 0, fy = 0;
    for (int y = 0; y < 32; ++y) {
      for (int x = 0; x < 32; ++x) {
        if (pixels[0][y][x] < 0) continue;
        const double d = std::hypot(x + 0.5 - info.ball_start.x, y + 0.5 - info.ball_start.y);
        if (d > farthest) farthest = d, fx = x + 0.5, fy = y + 0.5;
      }
    }
    EXPECT_NEAR(farthest, info.arrow_length, 1.0) << seed;
    EXPECT_GT((fx - info.ball_start.x) * dx + (fy - info.ball_start.y) * dy, 0) << seed;
  }
}

TEST(PromptsTasks, TrajectoryLandsOnTheParabolaOfItsTrail) {
  for (std::uint64_t seed = 0; seed < 20; ++seed) {
    const PromptPair pair = make_prompt_pair(PromptTask::kTrajectory, items(), seed);
    const auto& t = pair.info.trail;
    ASSERT_EQ(t.size(), 4u);
    // Equal time steps under constant gravity: the second differences are equal, so the next
    // point is the cubic extrapolation 4 p3 - 6 p2 + 4 p1 - p0, and horizontal speed is constant.
    const CanvasPoint next{4 * t[3].x - 6 * t[2].x + 4 * t[1].x - t[0].x,
                           4 * t[3].y - 6 * t[2].y + 4 * t[1].y - t[0].y};
    const CanvasPoint found = bright_mass(pair.output).centroid;
    EXPECT_NEAR(found.x, next.x, 0.1) << seed;
    EXPECT_NEAR(found.y, next.y, 0.1) << seed;
    EXPECT_NEAR(t[1].x - t[0].x, t[3].x - t[2].x, 1e-9);
    EXPECT_GT((t[3].y - t[2].y) - (t[2].y - t[1].y), 0);  // gravity pulls down
    // The trail in the input: a dim dot around each of the first three centres.
    for (int k = 0; k < 3; ++k) {
      const float v = pair.input[0][int(t[k].y)][int(t[k].x)].item<float>();
      EXPECT_GT(v, -0.9f) << seed << " trail " << k;
      EXPECT_LE(v, 0.01f) << seed << " trail " << k;
    }
  }
}

TEST(PromptsTasks, VisMarkerShiftsTheItemSoTheSpotIsCentred) {
  for (std::uint64_t seed = 0; seed < 10; ++seed) {
    const PromptPair pair = make_prompt_pair(PromptTask::kVisMarker, items(), seed);
    const auto& info = pair.info;
    EXPECT_DOUBLE_EQ(info.marker.x + info.shift_x, 16.0);
    EXPECT_DOUBLE_EQ(info.marker.y + info.shift_y, 16.0);
    // Outside the marker's footprint, the output is the input moved by the shift.
    const torch::Tensor moved = shift_image(pair.input, info.shift_x, info.shift_y);
    const torch::Tensor inside =
        shift_image(torch::ones_like(pair.input), info.shift_x, info.shift_y, 0.0f) > 0;
    const torch::Tensor compare = inside & info.edit_mask.logical_not();
    EXPECT_TRUE(moved.masked_select(compare).equal(pair.output.masked_select(compare))) << seed;
  }
}

TEST(PromptsTasks, Text2ImagePutsASmallItemInTheNamedQuadrant) {
  const std::vector<std::string> places = {"top-left", "top-right", "bottom-left", "bottom-right"};
  for (std::uint64_t seed = 0; seed < 12; ++seed) {
    const PromptPair pair = make_prompt_pair(PromptTask::kText2Image, items(), seed);
    const auto& info = pair.info;
    const std::string& name = items().class_names()[std::size_t(info.class_id)];
    ASSERT_EQ(info.text.rfind(name + " ", 0), 0u) << info.text;
    const std::string place = info.text.substr(name.size() + 1);
    const auto index = std::find(places.begin(), places.end(), place) - places.begin();
    ASSERT_LT(index, 4) << place;
    EXPECT_EQ(info.target_region.x0, (index % 2) * 16);
    EXPECT_EQ(info.target_region.y0, (index / 2) * 16);
    // Nothing outside the quadrant.
    torch::Tensor outside = pair.output.clone();
    outside.narrow(1, info.target_region.y0, 16).narrow(2, info.target_region.x0, 16).fill_(-1);
    EXPECT_TRUE(outside.eq(-1).all().item<bool>());
    EXPECT_GT((pair.output > -0.5).sum().item<std::int64_t>(), 10);
  }
}

TEST(PromptsTasks, Class2ImageAndDoodleShowTheItemTheyName) {
  for (std::uint64_t seed = 0; seed < 5; ++seed) {
    const PromptPair pair = make_prompt_pair(PromptTask::kClass2Image, items(), seed);
    EXPECT_EQ(pair.info.text, items().class_names()[std::size_t(pair.info.class_id)]);
    EXPECT_TRUE(
        pair.output.narrow(1, 2, 28).narrow(2, 2, 28).equal(items().item(pair.info.item_index)));
    EXPECT_TRUE(pair.input.equal(render_text_prompt(pair.info.text)));
    const PromptPair doodle = make_prompt_pair(PromptTask::kDoodle, items(), seed);
    EXPECT_TRUE(doodle.input.equal(edge_sketch(doodle.output)));
    EXPECT_GT((doodle.input > 0).sum().item<std::int64_t>(), 10);
  }
}

TEST(PromptsTasks, LargerCanvasesScaleImagesAndMetadataTogether) {
  PromptOptions options;
  options.size = 64;
  for (PromptTask task : all_prompt_tasks()) {
    const PromptPair small = make_prompt_pair(task, items(), 3);
    const PromptPair large = make_prompt_pair(task, items(), 3, options);
    ASSERT_EQ(large.output.sizes(), (std::vector<std::int64_t>{1, 64, 64}));
    EXPECT_TRUE(large.output.slice(1, 0, 64, 2).slice(2, 1, 64, 2).equal(small.output));
    EXPECT_DOUBLE_EQ(large.info.ball_center.x, 2 * small.info.ball_center.x);
    EXPECT_EQ(large.info.box.x1, 2 * small.info.box.x1);
  }
  const PromptPair force = make_prompt_pair(PromptTask::kForce, items(), 3, options);
  const CanvasPoint c = bright_mass(force.output).centroid;
  EXPECT_NEAR(c.x, force.info.ball_center.x, 0.2);
  options.size = 48;
  EXPECT_THROW(make_prompt_pair(PromptTask::kForce, items(), 3, options), std::invalid_argument);
}

TEST(PromptsTasks, BatchesMixAllTasksDeterministically) {
  const PromptBatch a = make_prompt_batch(items(), 64, 5);
  const PromptBatch b = make_prompt_batch(items(), 64, 5);
  EXPECT_TRUE(a.inputs.equal(b.inputs));
  EXPECT_TRUE(a.outputs.equal(b.outputs));
  ASSERT_EQ(a.inputs.sizes(), (std::vector<std::int64_t>{64, 1, 32, 32}));
  ASSERT_EQ(a.infos.size(), 64u);
  for (std::int64_t k = 0; k < 8; ++k) EXPECT_TRUE(a.tasks.eq(k).any().item<bool>()) << k;
  for (std::size_t i = 0; i < a.infos.size(); ++i) {
    EXPECT_EQ(std::int64_t(a.infos[i].task), a.tasks[std::int64_t(i)].item<std::int64_t>());
    // Each sample is the pair of its own seed.
    if (i < 4) {
      const PromptPair pair = make_prompt_pair(a.infos[i].task, items(), a.infos[i].seed);
      EXPECT_TRUE(pair.output.equal(a.outputs[std::int64_t(i)]));
    }
  }
  const PromptBatch only = make_prompt_batch(items(), 8, 5, {}, {PromptTask::kForce});
  EXPECT_TRUE(only.tasks.eq(std::int64_t(PromptTask::kForce)).all().item<bool>());
  EXPECT_THROW(make_prompt_batch(items(), 0, 5), std::invalid_argument);
}

TEST(PromptsTasks, FashionMnistItemsWhenTheDataIsThere) {
  if (!fashion_mnist_available()) GTEST_SKIP() << "no Fashion-MNIST in " << kFashionMnistDir;
  const FashionMnistItems fashion(Split::kTest);
  EXPECT_EQ(fashion.size(), 10000);
  EXPECT_EQ(fashion.class_names()[9], "ankle boot");
  for (PromptTask task : all_prompt_tasks()) {
    const PromptPair pair = make_prompt_pair(task, fashion, 21);
    EXPECT_EQ(pair.output.sizes(), (std::vector<std::int64_t>{1, 32, 32})) << to_string(task);
  }
}

}  // namespace
}  // namespace fi
