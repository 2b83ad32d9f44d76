// The coupling study on a tiny budget: every setting trained, scored and written out, and the
// same seed gives the same figures.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "flowinone/eval/coupling_study.h"
#include "flowinone/io/png.h"
#include "temp_dir.h"

namespace {

fi::CouplingStudyOptions tiny_study(const std::string& out_dir) {
  fi::CouplingStudyOptions options;
  options.pairs = {{"8gaussians", "moons"}};
  options.couplings = {"independent", "ot-exact"};
  options.sigmas = {0.0};
  options.euler_steps = {1, 4};
  options.steps = 20;
  options.batch_size = 32;
  options.width = 16;
  options.depth = 1;
  options.eval_points = 64;
  options.picture_particles = 10;
  options.out_dir = out_dir;
  return options;
}

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(CouplingStudy, TrainsScoresAndWritesEverySetting) {
  fi::testing::TempDir dir("study");
  const auto rows = fi::run_coupling_study(tiny_study(dir.file("a")));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].coupling, "independent");
  EXPECT_EQ(rows[1].coupling, "ot-exact");
  for (const auto& row : rows) {
    ASSERT_EQ(row.w2_by_euler_steps.size(), 2u);
    for (const auto& [steps, w2] : row.w2_by_euler_steps) EXPECT_GT(w2, 0) << steps;
    EXPECT_GT(row.dopri5_nfe, 0);
    EXPECT_TRUE(std::isfinite(row.path_energy));
    EXPECT_GT(row.train_seconds, 0);
    EXPECT_TRUE(std::filesystem::exists(row.model_dir + "/model.safetensors"));
  }
  const std::string csv = read(dir.file("a") + "/study.csv");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 3);
  EXPECT_EQ(csv.rfind("source,target,coupling,sigma,w2_euler1,w2_euler4,path_energy", 0), 0u);
  const std::string md = read(dir.file("a") + "/study.md");
  EXPECT_NE(md.find("| 8gaussians -> moons | ot-exact | 0 |"), std::string::npos) << md;
  const fi::Image picture = fi::read_png(dir.file("a") + "/study.png");
  EXPECT_GE(picture.width, 2 * 256);  // two panels side by side

  // The same seed reproduces every figure but the timings.
  const auto again = fi::run_coupling_study(tiny_study(dir.file("b")));
  ASSERT_EQ(again.size(), rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(again[i].w2_by_euler_steps, rows[i].w2_by_euler_steps);
    EXPECT_EQ(again[i].path_energy, rows[i].path_energy);
    EXPECT_EQ(again[i].dopri5_nfe, rows[i].dopri5_nfe);
  }
}

TEST(CouplingStudy, RejectsBadOptions) {
  fi::testing::TempDir dir("study_bad");
  auto options = tiny_study(dir.file("x"));
  options.euler_steps = {0};
  EXPECT_THROW(fi::run_coupling_study(options), std::invalid_argument);
  options = tiny_study(dir.file("x"));
  options.couplings = {"nearest"};
  EXPECT_THROW(fi::run_coupling_study(options), std::invalid_argument);
  options = tiny_study(dir.file("x"));
  options.sigmas = {-0.1};
  EXPECT_THROW(fi::run_coupling_study(options), std::invalid_argument);
}

}  // namespace
