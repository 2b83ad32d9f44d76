// What the trainer minimizes: the objective of a model's family, one micro-batch at a time.
//
//   flow matching (FlowMatchingObjective)   draws x0, x1 (coupled), t and the path's (x_t, u_t),
//                                           and regresses v(x_t, t) on u_t by mean squared error
//   normalizing flows (LikelihoodObjective) draws data x and minimizes -log p(x) in nats
//
// The trainer owns the loop, optimizer, EMA, checkpoints and gradient all-reduce; an objective
// owns the draws of its batches (every one from the training generator, on the calling thread)
// and the loss. Data parallelism: every rank draws the whole global batch and keeps its rows
// (RankRows), so the generators stay in step across ranks.
#pragma once

#include <ATen/core/Generator.h>
#include <c10/core/Device.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "flowinone/generative/generative_model.h"
#include "flowinone/generative/run_config.h"
#include "flowinone/train/training_data.h"

namespace fi {

/// This rank's rows of a global batch of world x local rows: [rank * local, (rank + 1) * local).
struct RankRows {
  std::int64_t rank = 0;
  std::int64_t world = 1;
  std::int64_t local = 0;  // rows per rank (batch_size)

  std::int64_t global() const { return world * local; }
  /// The rows of `global` that are this rank's.
  torch::Tensor of(const torch::Tensor& global) const {
    return global.narrow(0, rank * local, local);
  }
  /// `global` with this rank's rows replaced by `rows`; the other rows are placeholders that keep
  /// the shapes (and so the generator's draws) those of the global batch.
  torch::Tensor merged(const torch::Tensor& global, const torch::Tensor& rows) const {
    torch::Tensor copy = global.clone();
    copy.narrow(0, rank * local, local).copy_(rows);
    return copy;
  }
};

/// What an objective needs from the trainer: shared handles, valid for the objective's lifetime.
struct ObjectiveContext {
  RunConfig config;
  c10::Device device = c10::Device(c10::kCPU);
  TrainingData* data = nullptr;
  at::Generator generator;  // the training generator (a shared handle; checkpointed)
  RankRows rows;
  std::vector<torch::Tensor> parameters;
};

struct MicroStep {
  std::int64_t step = 0;   // optimizer steps done before this one
  std::int64_t accum = 1;  // micro-batches per optimizer step: the gradient is of loss / accum
  std::function<void()> before_backward;  // called right before a backward pass; may be empty
};

class TrainingObjective {
 public:
  virtual ~TrainingObjective() = default;
  /// Draws one micro-batch, computes its mean loss and adds the gradient of loss / accum to the
  /// parameters' .grad. Returns the loss (0-d, detached, on the device).
  virtual torch::Tensor accumulate_gradient(const MicroStep& micro) = 0;
};

/// The objective of the model's family. Flows get their data-dependent initialization (ActNorm)
/// here, before the trainer copies their weights into the EMA.
std::unique_ptr<TrainingObjective> make_training_objective(GenerativeModel& model,
                                                           const ObjectiveContext& context);

/// loss.backward() of loss / accum (of loss itself when accum = 1, to keep its last bits).
void backward_scaled(const torch::Tensor& loss, std::int64_t accum);

}  // namespace fi
