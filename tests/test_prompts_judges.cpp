// VP-Bench-mini judges: the ground-truth output of every task passes, and a clearly wrong
// output (ball elsewhere, an edit outside the box, a wrong word, the wrong place) fails.
#include <gtest/gtest.h>

#include "flowinone/core/random.h"
#include "flowinone/prompts/image_measures.h"
#include "flowinone/prompts/judges.h"

namespace fi {
namespace {

const SyntheticItems& items() {
  static const SyntheticItems instance(60);
  return instance;
}

std::string describe(const Judgement& judgement) {
  std::string text;
  for (const auto& c : judgement.criteria)
    text += c.name + "=" + std::to_string(c.value) + (c.pass ? " pass; " : " FAIL; ");
  return text;
}

TEST(PromptsJudges, GroundTruthPassesEveryTask) {
  for (PromptTask task : all_prompt_tasks()) {
    for (std::uint64_t seed = 0; seed < 6; ++seed) {
      const PromptPair pair = make_prompt_pair(task, items(), seed);
      const Judgement judgement = judge_prompt_output(pair, pair.output);
      EXPECT_TRUE(judgement.passed())
          << to_string(task) << " seed " << seed << ": " << describe(judgement);
    }
  }
}

TEST(PromptsJudges, FaintNoiseInTheAnswerStillPasses) {
  // A model's answer is never exact: noise of 0.03 (PSNR 36 dB) must not move centroids or
  // hide words.
  for (PromptTask task : all_prompt_tasks()) {
    for (std::uint64_t seed = 0; seed < 4; ++seed) {
      const PromptPair pair = make_prompt_pair(task, items(), seed);
      const torch::Tensor noisy =
          (pair.output + 0.03 * torch::randn({1, 32, 32}, make_generator(seed))).clamp(-1, 1);
      const Judgement judgement = judge_prompt_output(pair, noisy);
      EXPECT_TRUE(judgement.passed())
          << to_string(task) << " seed " << seed << ": " << describe(judgement);
    }
  }
}

TEST(PromptsJudges, BallElsewhereFails) {
  for (PromptTask task : {PromptTask::kForce, PromptTask::kTrajectory}) {
    const PromptPair pair = make_prompt_pair(task, items(), 2);
    // The ball left where it was: the input's ball alone.
    PromptCanvas stayed(32, 32);
    stayed.draw_dot(pair.info.ball_start, pair.info.ball_radius, 1.0f);
    Judgement judgement = judge_prompt_output(pair, stayed.tensor());
    EXPECT_FALSE(judgement.passed()) << describe(judgement);
    EXPECT_GT(judgement.find("ball_error_px")->value, 2.0);
    // Three pixels off.
    PromptCanvas off(32, 32);
    off.draw_dot({pair.info.ball_center.x + 3, pair.info.ball_center.y}, pair.info.ball_radius,
                 1.0f);
    EXPECT_FALSE(judge_prompt_output(pair, off.tensor()).passed());
    // One pixel off is within tolerance.
    PromptCanvas near(32, 32);
    near.draw_dot({pair.info.ball_center.x + 1, pair.info.ball_center.y}, pair.info.ball_radius,
                  1.0f);
    EXPECT_TRUE(judge_prompt_output(pair, near.tensor()).passed());
    // Nothing, or a white canvas, is no ball.
    EXPECT_FALSE(judge_prompt_output(pair, torch::full({1, 32, 32}, -1.0f)).passed());
    EXPECT_FALSE(judge_prompt_output(pair, torch::full({1, 32, 32}, 1.0f)).passed());
  }
}

TEST(PromptsJudges, BoxEditOutsideTheBoxOrNotBlankFails) {
  const PromptPair pair = make_prompt_pair(PromptTask::kBoxEdit, items(), 4);
  const auto& box = pair.info.box;
  // The input as the answer: the box is not blank.
  Judgement unchanged = judge_prompt_output(pair, pair.input);
  EXPECT_FALSE(unchanged.find("box_blank")->pass) << describe(unchanged);
  // Blanking the right box and also a stripe elsewhere: the edit leaks outside the box.
  // (Rows box.y1 and below are outside the box and the label; the stripe inverts the item.)
  torch::Tensor leaked = pair.output.clone();
  torch::Tensor stripe = leaked.narrow(1, box.y1, 2).narrow(2, 2, 28);
  stripe.copy_(torch::where(stripe > 0, -torch::ones_like(stripe), torch::ones_like(stripe)));
  Judgement leak = judge_prompt_output(pair, leaked);
  EXPECT_TRUE(leak.find("box_blank")->pass);
  EXPECT_FALSE(leak.find("psnr_db")->pass) << describe(leak);
  EXPECT_FALSE(leak.passed());
  // Small noise everywhere keeps both criteria.
  const torch::Tensor noisy =
      (pair.output + 0.01 * torch::randn({1, 32, 32}, make_generator(1))).clamp(-1, 1);
  EXPECT_TRUE(judge_prompt_output(pair, noisy).passed())
      << describe(judge_prompt_output(pair, noisy));
}

TEST(PromptsJudges, WrongOrMissingWordFails) {
  const PromptPair pair = make_prompt_pair(PromptTask::kTextInImage, items(), 3);
  const auto& info = pair.info;
  // The same plate with another word of the same length.
  std::string other = info.word;
  other[0] = other[0] == 'x' ? 'y' : 'x';
  PromptCanvas wrong(pair.output);
  wrong.fill_box(
      {info.word_x, info.word_y, info.word_x + text_width(other, TextStyle{}), info.word_y + 5},
      -1.0f);
  wrong.draw_text(info.word_x, info.word_y, other, 1.0f);
  Judgement judgement = judge_prompt_output(pair, wrong.tensor());
  EXPECT_FALSE(judgement.find("word_read")->pass) << describe(judgement);
  // The plain item without the word.
  PromptCanvas missing(pair.output);
  missing.fill_box({info.word_x - 1, info.word_y - 1, 32 - info.word_x + 1, info.word_y + 6},
                   -1.0f);
  EXPECT_FALSE(judge_prompt_output(pair, missing.tensor()).passed());
  // The word written one pixel off is still read.
  const torch::Tensor shifted = shift_image(pair.output, 1, 0);
  EXPECT_TRUE(judge_prompt_output(pair, shifted).find("word_read")->pass);
}

TEST(PromptsJudges, WrongPlaceFailsText2ImageAndVisMarker) {
  const PromptPair pair = make_prompt_pair(PromptTask::kText2Image, items(), 1);
  // The same small item in the diagonally opposite quadrant.
  const auto& r = pair.info.target_region;
  const torch::Tensor opposite =
      shift_image(pair.output, r.x0 == 0 ? 16 : -16, r.y0 == 0 ? 16 : -16);
  Judgement judgement = judge_prompt_output(pair, opposite);
  EXPECT_FALSE(judgement.passed()) << describe(judgement);
  EXPECT_GT(judgement.find("position_error_px")->value, 10);

  const PromptPair marker = make_prompt_pair(PromptTask::kVisMarker, items(), 1);
  // The right item, seven pixels off towards the emptier side.
  const double x = bright_mass(marker.output).centroid.x;
  const torch::Tensor off = shift_image(marker.output, x < 16 ? 7 : -7, 0);
  Judgement misplaced = judge_prompt_output(marker, off);
  EXPECT_FALSE(misplaced.passed()) << describe(misplaced);
  EXPECT_GT(misplaced.find("position_error_px")->value, 4);
}

TEST(PromptsJudges, DoodleOfAnotherItemOrBlankFails) {
  const PromptPair pair = make_prompt_pair(PromptTask::kDoodle, items(), 0);
  // An item of another class, whose outline differs.
  std::int64_t other = 0;
  // Widths differ by 4 px or more on each side (SyntheticItems: half width 4 + 2 (class % 5)).
  while (std::abs(items().label(other) % 5 - pair.info.class_id % 5) < 2) ++other;
  torch::Tensor other_item = torch::full({1, 32, 32}, -1.0f);
  other_item.narrow(1, 2, 28).narrow(2, 2, 28).copy_(items().item(other));
  Judgement judgement = judge_prompt_output(pair, other_item);
  EXPECT_FALSE(judgement.passed()) << describe(judgement);
  EXPECT_FALSE(judge_prompt_output(pair, torch::full({1, 32, 32}, -1.0f)).passed());
}

TEST(PromptsJudges, ClassifierHookJudgesClassFidelity) {
  const PromptPair pair = make_prompt_pair(PromptTask::kClass2Image, items(), 7);
  JudgeOptions options;
  torch::Tensor seen;
  options.classify = [&](const torch::Tensor& item) {
    seen = item;
    return pair.info.class_id;
  };
  Judgement right = judge_prompt_output(pair, pair.output, options);
  EXPECT_TRUE(right.passed());
  ASSERT_NE(right.find("class_agrees"), nullptr);
  EXPECT_TRUE(seen.equal(items().item(pair.info.item_index)));  // the centred 28-px item
  options.classify = [&](const torch::Tensor&) { return (pair.info.class_id + 1) % 10; };
  EXPECT_FALSE(judge_prompt_output(pair, pair.output, options).passed());
  // text2image hands over its quadrant, enlarged to 28 px.
  const PromptPair placed = make_prompt_pair(PromptTask::kText2Image, items(), 7);
  options.classify = [&](const torch::Tensor& item) {
    seen = item;
    return placed.info.class_id;
  };
  EXPECT_TRUE(judge_prompt_output(placed, placed.output, options).passed());
  EXPECT_EQ(seen.sizes(), (std::vector<std::int64_t>{1, 28, 28}));
  // Without a hook, a blank canvas is no answer to class2image.
  EXPECT_FALSE(judge_prompt_output(pair, torch::full({1, 32, 32}, -1.0f)).passed());
  EXPECT_THROW(judge_prompt_output(pair, torch::zeros({1, 16, 16})), std::invalid_argument);
}

TEST(PromptsJudges, ClassCanBeJudgedAgainstTheGroundTruthsVerdict) {
  const PromptPair pair = make_prompt_pair(PromptTask::kDoodle, items(), 5);
  JudgeOptions options;
  // A classifier that is always wrong about this item: the label fails the true answer, its
  // own verdict on the ground truth does not.
  const std::int64_t wrong = (pair.info.class_id + 1) % 10;
  options.classify = [&](const torch::Tensor&) { return wrong; };
  EXPECT_FALSE(judge_prompt_output(pair, pair.output, options).passed());
  options.class_from_ground_truth = true;
  EXPECT_TRUE(judge_prompt_output(pair, pair.output, options).passed());
  // It still compares: a classifier telling items from blanks fails a blank answer.
  options.classify = [](const torch::Tensor& item) -> std::int64_t {
    return item.max().item<float>() > -0.5f ? 1 : 0;
  };
  const Judgement blank = judge_prompt_output(pair, torch::full({1, 32, 32}, -1.0f), options);
  ASSERT_NE(blank.find("class_agrees"), nullptr);
  EXPECT_FALSE(blank.find("class_agrees")->pass);
}

TEST(PromptsJudges, JudgedItemViewIsWhatTheHookSees) {
  const PromptPair pair = make_prompt_pair(PromptTask::kClass2Image, items(), 3);
  EXPECT_TRUE(judged_item_view(pair.info, pair.output).equal(items().item(pair.info.item_index)));
  PromptOptions large;
  large.size = 64;
  const PromptPair placed = make_prompt_pair(PromptTask::kText2Image, items(), 3, large);
  torch::Tensor seen;
  JudgeOptions options;
  options.classify = [&](const torch::Tensor& item) {
    seen = item;
    return placed.info.class_id;
  };
  judge_prompt_output(placed, placed.output, options);
  EXPECT_TRUE(judged_item_view(placed.info, placed.output).equal(seen));
  EXPECT_EQ(seen.sizes(), (std::vector<std::int64_t>{1, 28, 28}));
  EXPECT_THROW(judged_item_view(placed.info, pair.output), std::invalid_argument);
}

TEST(PromptsJudges, GroundTruthPassesOnFashionMnistToo) {
  if (!fashion_mnist_available()) GTEST_SKIP() << "no Fashion-MNIST in " << kFashionMnistDir;
  static const FashionMnistItems fashion(Split::kTest);
  for (PromptTask task : all_prompt_tasks()) {
    for (std::uint64_t seed = 0; seed < 25; ++seed) {
      const PromptPair pair = make_prompt_pair(task, fashion, seed);
      const Judgement judgement = judge_prompt_output(pair, pair.output);
      EXPECT_TRUE(judgement.passed())
          << to_string(task) << " seed " << seed << ": " << describe(judgement);
    }
  }
}

}  // namespace
}  // namespace fi
