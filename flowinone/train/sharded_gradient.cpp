#include "flowinone/train/sharded_gradient.h"

#include <ATen/Parallel.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <algorithm>
#include <stdexcept>

namespace fi {

torch::Tensor accumulate_sharded_gradients(const std::vector<torch::Tensor>& parameters,
                                           std::int64_t rows, std::int64_t shards, bool parallel,
                                           const ShardMeanLoss& shard_mean_loss, double scale) {
  if (rows < 1 || shards < 1) {
    throw std::invalid_argument("[accumulate_sharded_gradients] need rows >= 1 and shards >= 1");
  }
  const std::int64_t count = std::min(shards, rows);
  std::vector<std::vector<torch::Tensor>> gradients(static_cast<std::size_t>(count));
  std::vector<torch::Tensor> losses(static_cast<std::size_t>(count));
  auto run_shard = [&](std::int64_t shard) {
    // Grad mode is thread-local: a pool thread need not have it on.
    torch::AutoGradMode enable_grad(true);
    const std::int64_t begin = shard * rows / count;
    const std::int64_t end = (shard + 1) * rows / count;
    const double weight = static_cast<double>(end - begin) / static_cast<double>(rows);
    const torch::Tensor mean = shard_mean_loss(begin, end - begin);
    const auto k = static_cast<std::size_t>(shard);
    gradients[k] = torch::autograd::grad({mean * (scale * weight)}, parameters,
                                         /*grad_outputs=*/{}, /*retain_graph=*/false,
                                         /*create_graph=*/false, /*allow_unused=*/true);
    losses[k] = mean.detach() * weight;
  };
  if (parallel) {
    // Grain 1: one shard per thread. Inside, torch runs every operation single-threaded (it is
    // already in a parallel region), and so does OpenMP OpenBLAS.
    at::parallel_for(0, count, 1, [&](std::int64_t first, std::int64_t last) {
      for (std::int64_t shard = first; shard < last; ++shard) run_shard(shard);
    });
  } else {
    for (std::int64_t shard = 0; shard < count; ++shard) run_shard(shard);
  }

  torch::NoGradGuard no_grad;
  for (std::size_t i = 0; i < parameters.size(); ++i) {
    torch::Tensor sum;
    int terms = 0;
    for (const auto& shard : gradients) {
      const torch::Tensor& g = shard[i];
      if (!g.defined()) continue;
      sum = sum.defined() ? sum + g : g;
      ++terms;
    }
    if (terms == 0) continue;
    torch::Tensor& grad = parameters[i].mutable_grad();
    if (grad.defined()) {
      grad.add_(sum);
    } else {
      // A lone shard's gradient may be a tensor autograd also handed to another parameter.
      grad = terms == 1 ? sum.clone() : sum;
    }
  }
  torch::Tensor total = losses[0];
  for (std::size_t k = 1; k < losses.size(); ++k) total = total + losses[k];
  return total;
}

}  // namespace fi
