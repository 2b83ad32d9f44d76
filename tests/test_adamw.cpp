// Our Adam(W) against LibTorch's own implementation as the reference twin.
#include <gtest/gtest.h>
#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>

#include "flowinone/train/adamw.h"
#include "flowinone/train/ema.h"
#include "flowinone/train/lr_schedule.h"

namespace {

template <typename Reference, typename ReferenceOptions>
void compare_with_reference(bool decoupled, ReferenceOptions reference_options) {
  torch::manual_seed(0);
  const auto initial = torch::randn({4, 3}, torch::kFloat64);
  auto ours = initial.clone().requires_grad_(true);
  auto theirs = initial.clone().requires_grad_(true);
  fi::Adam optimizer({ours}, fi::AdamOptions{0.9, 0.99, 1e-8, 0.1, decoupled});
  Reference reference({theirs}, reference_options);
  for (int step = 0; step < 20; ++step) {
    const auto target = torch::randn({4, 3}, torch::kFloat64);
    optimizer.zero_grad();
    (ours - target).pow(3).abs().sum().backward();
    optimizer.step(0.01);
    reference.zero_grad();
    (theirs - target).pow(3).abs().sum().backward();
    reference.step();
  }
  EXPECT_TRUE(torch::allclose(ours, theirs, 1e-10, 1e-12)) << ours - theirs;
}

}  // namespace

TEST(Adam, MatchesLibTorchAdamW) {
  compare_with_reference<torch::optim::AdamW>(
      true, torch::optim::AdamWOptions(0.01).betas({0.9, 0.99}).eps(1e-8).weight_decay(0.1));
}

TEST(Adam, MatchesLibTorchAdamWithL2Penalty) {
  compare_with_reference<torch::optim::Adam>(
      false, torch::optim::AdamOptions(0.01).betas({0.9, 0.99}).eps(1e-8).weight_decay(0.1));
}

TEST(Adam, StateRoundTripContinuesIdentically) {
  torch::manual_seed(1);
  auto a = torch::randn({5}, torch::kFloat64).requires_grad_(true);
  auto b = a.detach().clone().requires_grad_(true);
  fi::Adam first({a}, {}), second({b}, {});
  auto loss = [](const torch::Tensor& p) { return (p * p).sum(); };
  for (int i = 0; i < 3; ++i) {
    first.zero_grad();
    loss(a).backward();
    first.step(0.1);
  }
  std::map<std::string, torch::Tensor> saved;
  for (auto& [name, tensor] : first.state("adam.")) saved[name] = tensor.clone();
  {
    torch::NoGradGuard no_grad;
    b.copy_(a);
  }
  second.load_state(saved, "adam.");
  EXPECT_EQ(second.num_steps(), 3);
  first.zero_grad();
  loss(a).backward();
  first.step(0.1);
  second.zero_grad();
  loss(b).backward();
  second.step(0.1);
  EXPECT_TRUE(torch::equal(a, b));
  saved.erase("adam.m.0");
  EXPECT_THROW(second.load_state(saved, "adam."), std::runtime_error);
}

TEST(ClipGradNorm, ScalesToTheLimitAndReportsTheNorm) {
  auto p = torch::zeros({2}, torch::kFloat64).requires_grad_(true);
  (p * torch::tensor({3.0, 4.0}, torch::kFloat64)).sum().backward();
  EXPECT_NEAR(fi::clip_grad_norm({p}, 1.0), 5.0, 1e-12);
  EXPECT_NEAR(p.grad().norm().item<double>(), 1.0, 1e-5);
}

TEST(LrSchedule, WarmupThenCosineToTheFloor) {
  fi::LrSchedule schedule{1.0, 10, 110, true, 0.1};
  EXPECT_NEAR(schedule.at(0), 0.1, 1e-12);
  EXPECT_NEAR(schedule.at(9), 1.0, 1e-12);
  EXPECT_NEAR(schedule.at(10), 1.0, 1e-12);
  EXPECT_NEAR(schedule.at(60), 0.55, 1e-12);  // half way: 0.1 + 0.9 * 0.5
  EXPECT_NEAR(schedule.at(110), 0.1, 1e-12);
  fi::LrSchedule constant{0.5, 0, 100, false, 0.0};
  EXPECT_EQ(constant.at(77), 0.5);
}

TEST(Ema, AveragesTowardsTheParameters) {
  auto p = torch::zeros({3}, torch::kFloat64);
  fi::Ema ema({p}, 0.5);
  p.fill_(1.0);
  ema.update({p});  // decay min(0.5, 1/10) = 0.1
  EXPECT_NEAR(ema.shadow()[0][0].item<double>(), 0.9, 1e-12);
  for (int i = 0; i < 60; ++i) ema.update({p});
  EXPECT_NEAR(ema.shadow()[0][0].item<double>(), 1.0, 1e-12);
  auto q = torch::zeros({3}, torch::kFloat64);
  ema.copy_to({q});
  EXPECT_TRUE(torch::allclose(q, ema.shadow()[0]));
  EXPECT_THROW(fi::Ema({p}, 1.0), std::invalid_argument);
}
