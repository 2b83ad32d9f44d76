#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "flowinone/generative/guidance.h"
#include "flowinone/models/unet.h"

namespace {

std::shared_ptr<fi::UNetVelocity> tiny_conditional_unet(std::int64_t condition_channels = 0) {
  fi::UNetOptions options;
  options.base_channels = 8;
  options.channel_mults = {1, 2};
  options.attention_levels = {1};
  options.norm_groups = 4;
  options.num_classes = 3;
  options.condition_channels = condition_channels;
  options.zero_init = false;
  auto model = std::make_shared<fi::UNetVelocity>(options);
  model->eval();
  return model;
}

torch::Tensor direct(const std::shared_ptr<fi::UNetVelocity>& model, const torch::Tensor& x,
                     double t, const fi::Conditioning& cond) {
  torch::NoGradGuard no_grad;
  return model->forward(x, torch::full({x.size(0)}, t, torch::kFloat32), cond);
}

}  // namespace

TEST(Guidance, WeightZeroIsUnconditionalAndOneIsConditionalExactly) {
  torch::manual_seed(0);
  auto model = tiny_conditional_unet();
  const auto x = torch::randn({3, 1, 8, 8});
  const auto labels = torch::tensor({0, 1, 2}, torch::kInt64);
  fi::Conditioning cond;
  cond.labels = labels;
  const auto v_cond = direct(model, x, 0.4, cond);
  const auto v_uncond = direct(model, x, 0.4, fi::null_labels(cond));
  ASSERT_GT((v_cond - v_uncond).abs().max().item<float>(), 1e-4f);
  EXPECT_TRUE(torch::equal(fi::classifier_free_guidance(model, labels, 0.0)(x, 0.4), v_uncond));
  EXPECT_TRUE(torch::equal(fi::classifier_free_guidance(model, labels, 1.0)(x, 0.4), v_cond));
  EXPECT_TRUE(torch::equal(fi::conditional_velocity(model, cond)(x, 0.4), v_cond));
}

TEST(Guidance, OtherWeightsFollowTheFormulaFromOneBatchedForward) {
  torch::manual_seed(1);
  auto model = tiny_conditional_unet(/*condition_channels=*/1);
  const auto x = torch::randn({2, 1, 8, 8});
  fi::Conditioning cond;
  cond.labels = torch::tensor({2, 0}, torch::kInt64);
  cond.image = torch::randn({2, 1, 8, 8});
  const auto uncond = fi::null_labels(cond);
  EXPECT_TRUE(torch::equal(uncond.image, cond.image));
  const auto v_cond = direct(model, x, 0.7, cond);
  const auto v_uncond = direct(model, x, 0.7, uncond);
  for (const double weight : {2.0, -0.5, 3.5}) {
    const auto guided = fi::guided_velocity(model, cond, uncond, weight)(x, 0.7);
    const auto expected = v_uncond + weight * (v_cond - v_uncond);
    EXPECT_TRUE(torch::allclose(guided, expected, 1e-5, 1e-5)) << "w = " << weight;
  }
}

TEST(Guidance, DrivesTheSolverAndCountsOneEvaluationPerStep) {
  torch::manual_seed(2);
  auto model = tiny_conditional_unet();
  fi::SolveOptions options;
  options.num_steps = 3;
  const auto x0 = torch::randn({2, 1, 8, 8});
  const auto solution =
      fi::solve_ode(fi::classifier_free_guidance(model, torch::tensor({0, 1}), 2.0), x0, options);
  EXPECT_EQ(solution.nfe, 3);
  EXPECT_EQ(solution.x.sizes(), x0.sizes());
  EXPECT_FALSE(solution.x.requires_grad());  // evaluated without gradients
}

TEST(Guidance, RejectsBadWeightsAndMismatchedConditions) {
  auto model = tiny_conditional_unet(1);
  fi::Conditioning cond;
  cond.labels = torch::tensor({0, 1}, torch::kInt64);
  cond.image = torch::randn({2, 1, 8, 8});
  fi::Conditioning no_image;
  no_image.labels = torch::full({2}, -1, torch::kInt64);
  EXPECT_THROW(fi::guided_velocity(model, cond, no_image, 2.0), std::invalid_argument);
  EXPECT_THROW(fi::guided_velocity(model, cond, fi::null_labels(cond),
                                   std::numeric_limits<double>::quiet_NaN()),
               std::invalid_argument);
  // A condition for 2 samples cannot guide a batch of 3.
  const auto guided = fi::guided_velocity(model, cond, fi::null_labels(cond), 2.0);
  EXPECT_THROW(guided(torch::randn({3, 1, 8, 8}), 0.5), std::invalid_argument);
  EXPECT_THROW(fi::classifier_free_guidance(model, torch::Tensor(), 2.0), std::invalid_argument);
}
