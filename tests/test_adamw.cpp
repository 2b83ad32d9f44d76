// Our Adam(W) against LibTorch's own implementation as the reference twin.
#include <gtest/gtest.h>
#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>

#include <algorithm>
#include <cmath>

#include "flowinone/train/adamw.h"
#include "flowinone/train/ema.h"
#include "flowinone/train/lr_schedule.h"

namespace {

// float64 parameters take the tensor-operation path, CPU float32 ones the fused loop
// (optimizer_kernels.h); both must follow LibTorch's optimizer.
template <typename Reference, typename ReferenceOptions>
void compare_with_reference(bool decoupled, ReferenceOptions reference_options,
                            torch::Dtype dtype = torch::kFloat64) {
  torch::manual_seed(0);
  const auto initial = torch::randn({37, 3}, dtype);
  auto ours = initial.clone().requires_grad_(true);
  auto theirs = initial.clone().requires_grad_(true);
  fi::Adam optimizer({ours}, fi::AdamOptions{0.9, 0.99, 1e-8, 0.1, decoupled});
  Reference reference({theirs}, reference_options);
  for (int step = 0; step < 20; ++step) {
    const auto target = torch::randn({37, 3}, dtype);
    optimizer.zero_grad();
    (ours - target).pow(3).abs().sum().backward();
    optimizer.step(0.01);
    reference.zero_grad();
    (theirs - target).pow(3).abs().sum().backward();
    reference.step();
  }
  const double tolerance = dtype == torch::kFloat64 ? 1e-12 : 1e-6;
  EXPECT_TRUE(torch::allclose(ours, theirs, tolerance * 100, tolerance)) << ours - theirs;
  EXPECT_GT((ours - initial).abs().max().item<double>(), 0.05);  // it did move
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

TEST(Adam, FusedFloat32LoopMatchesLibTorchAdamW) {
  compare_with_reference<torch::optim::AdamW>(
      true, torch::optim::AdamWOptions(0.01).betas({0.9, 0.99}).eps(1e-8).weight_decay(0.1),
      torch::kFloat32);
}

TEST(Adam, FusedFloat32LoopMatchesLibTorchAdamWithL2Penalty) {
  compare_with_reference<torch::optim::Adam>(
      false, torch::optim::AdamOptions(0.01).betas({0.9, 0.99}).eps(1e-8).weight_decay(0.1),
      torch::kFloat32);
}

TEST(Adam, NonContiguousGradientTakesTheTensorPathWithTheSameResult) {
  torch::manual_seed(2);
  const auto initial = torch::randn({6, 5});
  const auto gradient = torch::randn({5, 6});
  auto fused = initial.clone().requires_grad_(true);
  auto plain = initial.clone().requires_grad_(true);
  fused.mutable_grad() = gradient.t().contiguous();
  plain.mutable_grad() = gradient.t();  // a transposed view: not contiguous
  ASSERT_FALSE(plain.grad().is_contiguous());
  fi::Adam a({fused}, {}), b({plain}, {});
  a.step(0.1);
  b.step(0.1);
  EXPECT_TRUE(torch::allclose(fused, plain, 1e-5, 1e-6)) << fused - plain;  // float rounding
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

TEST(ClipGradNorm, Float32SumMatchesADoubleReferenceAndScalesEveryGradient) {
  torch::manual_seed(3);
  // Sizes that are not multiples of the loop's 8 lanes, and a tensor of 1.
  std::vector<torch::Tensor> parameters;
  double expected = 0.0;
  for (std::int64_t size : {1003, 1, 17}) {
    auto p = torch::zeros({size}).requires_grad_(true);
    p.mutable_grad() = torch::randn({size});
    expected += p.grad().to(torch::kFloat64).square().sum().item<double>();
    parameters.push_back(p);
  }
  expected = std::sqrt(expected);
  const std::vector<torch::Tensor> before = {
      parameters[0].grad().clone(), parameters[1].grad().clone(), parameters[2].grad().clone()};
  EXPECT_NEAR(fi::clip_grad_norm(parameters, 0.0), expected, 1e-9 * expected);  // no clipping
  EXPECT_TRUE(torch::equal(parameters[0].grad(), before[0]));
  EXPECT_NEAR(fi::clip_grad_norm(parameters, 2.0), expected, 1e-9 * expected);
  for (std::size_t i = 0; i < parameters.size(); ++i) {
    EXPECT_TRUE(torch::allclose(parameters[i].grad(), before[i] * (2.0 / expected), 1e-6, 1e-8));
  }
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

TEST(Ema, Float32LoopFollowsTheFormula) {
  torch::manual_seed(4);
  auto p = torch::randn({19});
  fi::Ema ema({p}, 0.9);
  auto expected = p.clone();
  for (int k = 0; k < 30; ++k) {
    p.copy_(torch::randn({19}));
    ema.update({p});
    const double decay = std::min(0.9, (1.0 + k) / (10.0 + k));
    expected = decay * expected + (1.0 - decay) * p;
  }
  EXPECT_TRUE(torch::allclose(ema.shadow()[0], expected, 1e-5, 1e-6));
}
