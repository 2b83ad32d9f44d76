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

/// The loss of rows [begin, begin + count) of the batch, scaled as its share of the batch's loss
/// (a mean over the batch: the shard's mean times count / rows), with its autograd graph.
using ShardLoss = std::function<torch::Tensor(std::int64_t begin, std::int64_t count)>;

/// Splits `rows` into min(shards, rows) contiguous shards of near-equal size, computes each
/// shard's gradient with respect to `parameters` (concurrently when `parallel`, serially in
/// shard order otherwise) and adds their sum, in shard order, to the parameters' .grad
/// (parameters no shard reaches are left as they are). Returns the sum of the shard losses,
/// detached. An exception from any shard is rethrown here, before any .grad is touched.
torch::Tensor accumulate_sharded_gradients(const std::vector<torch::Tensor>& parameters,
                                           std::int64_t rows, std::int64_t shards, bool parallel,
                                           const ShardLoss& shard_loss);

}  // namespace fi
