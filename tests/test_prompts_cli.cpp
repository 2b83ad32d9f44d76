// flowinone prompt: writes a prompt PNG, rejects an unknown task or text that cannot fit with
// exit status 2.
#include <gtest/gtest.h>

#include "cli_run.h"
#include "flowinone/data/image_transforms.h"
#include "flowinone/io/png.h"
#include "flowinone/prompts/prompt_task.h"
#include "temp_dir.h"

namespace {

using PromptRun = fi::testing::CliRun;

PromptRun run_prompt(const std::string& arguments) {
  return fi::testing::run_cli("prompt " + arguments);
}

TEST(PromptsCli, WritesTheTextPromptALibraryCallDraws) {
  fi::testing::TempDir dir("prompt_cli");
  const PromptRun run = run_prompt("--task class2image --text sneaker --out " + dir.file("p.png"));
  ASSERT_EQ(run.status, 0) << run.output;
  const fi::Image image = fi::read_png(dir.file("p.png"));
  EXPECT_EQ(image.width, 32);
  EXPECT_EQ(image.channels, 1);
  EXPECT_TRUE(fi::image_to_tensor(image).equal(fi::render_text_prompt("sneaker")));

  const PromptRun large =
      run_prompt("--task text2image --text \"bag top-left\" --size 64 --out " + dir.file("q.png"));
  ASSERT_EQ(large.status, 0) << large.output;
  EXPECT_EQ(fi::read_png(dir.file("q.png")).width, 64);
}

TEST(PromptsCli, GeneratedExampleWithItsAnswer) {
  fi::testing::TempDir dir("prompt_cli");
  const PromptRun run = run_prompt("--task force --seed 3 --out " + dir.file("in.png") +
                                   " --answer " + dir.file("out.png"));
  ASSERT_EQ(run.status, 0) << run.output;
  const fi::PromptPair pair = fi::make_prompt_pair(fi::PromptTask::kForce, fi::SyntheticItems(), 3);
  // The ball tasks use no items: the files are the pair, up to 8-bit rounding.
  const torch::Tensor input = fi::image_to_tensor(fi::read_png(dir.file("in.png")));
  EXPECT_LT((input - pair.input).abs().max().item<float>(), 1.0f / 127.5f);
  const torch::Tensor output = fi::image_to_tensor(fi::read_png(dir.file("out.png")));
  EXPECT_LT((output - pair.output).abs().max().item<float>(), 1.0f / 127.5f);
}

TEST(PromptsCli, BadTaskOrTextExitsTwoWithTheReason) {
  fi::testing::TempDir dir("prompt_cli");
  PromptRun run = run_prompt("--task inpaint --out " + dir.file("p.png"));
  EXPECT_EQ(run.status, 2) << run.output;
  EXPECT_NE(run.output.find("inpaint"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("class2image"), std::string::npos) << run.output;
  run = run_prompt("--task class2image --text supercalifragilistic --out " + dir.file("p.png"));
  EXPECT_EQ(run.status, 2) << run.output;
  EXPECT_NE(run.output.find("wider"), std::string::npos) << run.output;
  run = run_prompt("--task force --text ball --out " + dir.file("p.png"));
  EXPECT_EQ(run.status, 2) << run.output;
  run = run_prompt("--task class2image --text bag --size 40 --out " + dir.file("p.png"));
  EXPECT_EQ(run.status, 2) << run.output;
}

}  // namespace
