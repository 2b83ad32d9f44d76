#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <torch/nn/modules/linear.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include "flowinone/train/sharded_gradient.h"

namespace {

// A small two-layer network with an unused third parameter, and its data.
struct Problem {
  torch::nn::Linear first{nullptr}, second{nullptr};
  torch::Tensor unused;
  torch::Tensor x, y;
  std::vector<torch::Tensor> parameters;

  explicit Problem(std::int64_t rows) {
    torch::manual_seed(5);
    first = torch::nn::Linear(3, 16);
    second = torch::nn::Linear(16, 2);
    unused = torch::zeros({4}, torch::requires_grad());
    x = torch::randn({rows, 3});
    y = torch::randn({rows, 2});
    for (const auto& p : first->parameters()) parameters.push_back(p);
    for (const auto& p : second->parameters()) parameters.push_back(p);
    parameters.push_back(unused);
  }

  torch::Tensor mean_loss(std::int64_t begin, std::int64_t count) {
    const torch::Tensor out = second(torch::tanh(first(x.narrow(0, begin, count))));
    return (out - y.narrow(0, begin, count)).pow(2).mean();
  }

  fi::ShardMeanLoss shard_loss() {
    return [this](std::int64_t begin, std::int64_t count) { return mean_loss(begin, count); };
  }

  std::vector<torch::Tensor> grads() const {
    std::vector<torch::Tensor> out;
    for (const auto& p : parameters)
      out.push_back(p.grad().defined() ? p.grad().clone() : p.grad());
    return out;
  }

  void clear() {
    for (auto& p : parameters) p.mutable_grad() = torch::Tensor();
  }
};

// Restores torch's intra-op thread count on scope exit.
struct ThreadCountGuard {
  int saved = at::get_num_threads();
  ~ThreadCountGuard() { at::set_num_threads(saved); }
};

}  // namespace

TEST(ShardedGradient, EqualsTheWholeBatchGradient) {
  Problem problem(37);  // 37 rows into 4 shards: sizes 9, 9, 9, 10
  problem.mean_loss(0, 37).backward();
  const auto reference = problem.grads();
  problem.clear();
  for (bool parallel : {false, true}) {
    const torch::Tensor loss =
        fi::accumulate_sharded_gradients(problem.parameters, 37, 4, parallel, problem.shard_loss());
    EXPECT_NEAR(loss.item<double>(), problem.mean_loss(0, 37).item<double>(), 1e-6);
    const auto sharded = problem.grads();
    for (std::size_t i = 0; i + 1 < sharded.size(); ++i) {
      ASSERT_TRUE(sharded[i].defined()) << i;
      EXPECT_TRUE(torch::allclose(sharded[i], reference[i], 1e-5, 1e-6)) << i;
    }
    // No shard reaches the unused parameter: its gradient stays undefined.
    EXPECT_FALSE(sharded.back().defined());
    problem.clear();
  }
}

TEST(ShardedGradient, AddsToAnExistingGradient) {
  Problem problem(20);
  problem.mean_loss(0, 20).backward();
  const auto once = problem.grads();
  fi::accumulate_sharded_gradients(problem.parameters, 20, 2, true, problem.shard_loss());
  const auto twice = problem.grads();
  for (std::size_t i = 0; i + 1 < once.size(); ++i)
    EXPECT_TRUE(torch::allclose(twice[i], 2 * once[i], 1e-5, 1e-6)) << i;
}

TEST(ShardedGradient, ScaleMultipliesTheGradientNotTheLoss) {
  Problem problem(12);
  const torch::Tensor plain =
      fi::accumulate_sharded_gradients(problem.parameters, 12, 2, true, problem.shard_loss());
  const auto once = problem.grads();
  problem.clear();
  const torch::Tensor scaled =
      fi::accumulate_sharded_gradients(problem.parameters, 12, 2, true, problem.shard_loss(), 0.25);
  EXPECT_NEAR(scaled.item<double>(), plain.item<double>(), 1e-7);
  const auto quarter = problem.grads();
  for (std::size_t i = 0; i + 1 < once.size(); ++i)
    EXPECT_TRUE(torch::allclose(quarter[i], 0.25 * once[i], 1e-5, 1e-7)) << i;
}

TEST(ShardedGradient, SameBitsWhateverTheThreadCount) {
  // The shards' sum runs in shard order, so the thread count cannot change a single bit.
  ThreadCountGuard restore;
  std::vector<std::vector<torch::Tensor>> results;
  for (int threads : {1, 2, 3}) {
    at::set_num_threads(threads);
    Problem problem(64);
    fi::accumulate_sharded_gradients(problem.parameters, 64, 3, true, problem.shard_loss());
    results.push_back(problem.grads());
  }
  for (std::size_t run = 1; run < results.size(); ++run) {
    for (std::size_t i = 0; i + 1 < results[0].size(); ++i)
      EXPECT_TRUE(torch::equal(results[run][i], results[0][i])) << "run " << run << " tensor " << i;
  }
}

TEST(ShardedGradient, ShardsRunSideBySideWhenThreadsAllow) {
  ThreadCountGuard restore;
  at::set_num_threads(2);
  if (at::get_num_threads() < 2) GTEST_SKIP() << "this LibTorch runs one intra-op thread";
  // Each shard waits (up to 10 s) for the other to start: they meet only if run concurrently.
  std::atomic<int> started{0};
  std::atomic<bool> met{false};
  Problem problem(8);
  const fi::ShardMeanLoss rendezvous = [&](std::int64_t begin, std::int64_t count) {
    ++started;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (started.load() < 2 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::yield();
    }
    if (started.load() == 2) met = true;
    return problem.mean_loss(begin, count);
  };
  fi::accumulate_sharded_gradients(problem.parameters, 8, 2, true, rendezvous);
  EXPECT_TRUE(met.load()) << "the two shards ran one after the other";
}

TEST(ShardedGradient, MoreShardsThanRowsAndBadArguments) {
  Problem problem(3);
  problem.mean_loss(0, 3).backward();
  const auto reference = problem.grads();
  problem.clear();
  int calls = 0;
  const fi::ShardMeanLoss counted = [&](std::int64_t begin, std::int64_t count) {
    ++calls;
    EXPECT_EQ(count, 1);
    return problem.mean_loss(begin, count);
  };
  fi::accumulate_sharded_gradients(problem.parameters, 3, 8, false, counted);
  EXPECT_EQ(calls, 3);  // one shard per row, none empty
  for (std::size_t i = 0; i + 1 < reference.size(); ++i)
    EXPECT_TRUE(torch::allclose(problem.grads()[i], reference[i], 1e-5, 1e-6)) << i;
  EXPECT_THROW(fi::accumulate_sharded_gradients(problem.parameters, 0, 2, false, counted),
               std::invalid_argument);
  EXPECT_THROW(fi::accumulate_sharded_gradients(problem.parameters, 3, 0, false, counted),
               std::invalid_argument);
}

TEST(ShardedGradient, AFailingShardLeavesTheGradientsAlone) {
  Problem problem(10);
  problem.mean_loss(0, 10).backward();
  const auto before = problem.grads();
  const fi::ShardMeanLoss failing = [&](std::int64_t begin, std::int64_t count) -> torch::Tensor {
    if (begin > 0) throw std::runtime_error("shard failed");
    return problem.mean_loss(begin, count);
  };
  for (bool parallel : {false, true}) {
    EXPECT_THROW(fi::accumulate_sharded_gradients(problem.parameters, 10, 2, parallel, failing),
                 std::runtime_error);
    const auto after = problem.grads();
    for (std::size_t i = 0; i + 1 < before.size(); ++i)
      EXPECT_TRUE(torch::equal(after[i], before[i])) << i;
  }
}
