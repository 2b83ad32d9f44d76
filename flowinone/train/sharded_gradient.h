// Data parallelism inside one process: a batch split into row shards whose forward and backward
// passes run side by side on the CPU's threads, one shard per thread.
//
// A small model's step (the 2D MLP: 512 x 192 matrices) is too short for torch's intra-op
// threads to pay for themselves, and two processes over Gloo spend more on the all-reduce than
// on the step. Shards instead give each thread a whole forward and backward of its own rows,
// with every operation inside running single-threaded. Each shard's gradient is computed apart
// (autograd::grad, nothing accumulates concurrently) and the shards are added to .grad in shard
// order, so the result depends on the number of shards, never on the number of threads or on
// which thread finished first.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <vector>

namespace fi {

/// The mean loss over rows [begin, begin + count) of the batch, with its autograd graph.
using ShardMeanLoss = std::function<torch::Tensor(std::int64_t begin, std::int64_t count)>;

/// Splits `rows` into min(shards, rows) contiguous shards of near-equal size and adds to the
/// parameters' .grad the gradient of `scale` x (the mean loss over all rows), each shard
/// weighted by its share of the rows. The shards' gradients are computed concurrently when
/// `parallel` (serially in shard order otherwise) and summed in shard order; parameters no shard
/// reaches are left as they are. Returns the mean loss over all rows, detached and unscaled. An
/// exception from any shard is rethrown here, before any .grad is touched.
torch::Tensor accumulate_sharded_gradients(const std::vector<torch::Tensor>& parameters,
                                           std::int64_t rows, std::int64_t shards, bool parallel,
                                           const ShardMeanLoss& shard_mean_loss,
                                           double scale = 1.0);

}  // namespace fi
