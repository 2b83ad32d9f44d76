// Training of every model with one loop, optimizer, EMA and checkpoint format.
//
// The loop minimizes the objective of the model's family (training_objective.h): flow matching's
// regression of the velocity on the path's target, or a normalizing flow's negative
// log-likelihood. A non-finite loss stops training with an error naming the step; the last
// checkpoint on disk is left as it was. Every model uses Adam(W), warm-up + cosine learning rate,
// gradient clipping and an EMA of the weights.
//
// Every random draw comes from one generator seeded by config.seed, and its state is part of the
// checkpoint: a run resumed at step k ends with the same weights as one never stopped.
// Checkpoints (DIR/checkpoint/state.safetensors) and the model files are written atomically every
// checkpoint_every steps, at the end, and when should_stop() turns true.
//
// Shards (config.shards > 1, flow matching): each micro-batch's rows are split into shards whose
// forward and backward passes run concurrently on the CPU's threads (sharded_gradient.h); the
// draws of a step all happen before, on the calling thread, so shards change no random stream.
//
// Data parallelism (a DistributedContext given): batch_size is per rank. Every rank draws the
// whole global batch (batch_size x world_size) from the shared seeded generator and keeps its own
// rows, so the generators stay in step and N ranks train exactly as one process with batch
// N x batch_size would (up to float rounding); the coupling alone runs per rank, on the local
// rows. Gradients are averaged by a GradientReducer; every rank then takes the same step. Rank 0
// alone writes the checkpoint, model files and log; every rank resumes from the checkpoint.
#pragma once

#include <c10/core/Device.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "flowinone/generative/generative_model.h"
#include "flowinone/generative/run_config.h"
#include "flowinone/io/safetensors.h"
#include "flowinone/train/distributed.h"
#include "flowinone/train/gradient_reducer.h"

namespace fi {

struct TrainProgress {
  std::int64_t step = 0;  // optimizer steps done
  std::int64_t total_steps = 0;
  double loss = 0;  // mean loss over the steps since the last report
  double learning_rate = 0;
  double grad_norm = 0;         // before clipping, at the last step
  double steps_per_second = 0;  // since the start of this process's training
  double elapsed_seconds = 0;
};

struct TrainCallbacks {
  /// Called every `report_every` steps and at the end.
  std::function<void(const TrainProgress&)> on_progress;
  std::int64_t report_every = 10;
  /// Polled every step; true makes the trainer write a checkpoint and return.
  std::function<bool()> should_stop;
};

struct TrainResult {
  std::int64_t steps_done = 0;
  std::int64_t first_step = 0;       // steps done before this process started (a resumed run)
  double final_loss = 0;             // mean over the last log interval
  double seconds = 0;                // training time in this process
  bool stopped_early = false;        // should_stop() ended it
  double communication_seconds = 0;  // gradient all-reduce time not hidden by backward
};

struct TrainOptions {
  std::string out_dir;
  bool resume = false;                // continue from out_dir/checkpoint
  DistributedContextPtr distributed;  // null: this process trains alone
  GradientReducerOptions reducer;
};

/// The training state and one optimizer step, for the benchmark and for custom loops; the
/// checkpointing loop is train_model below.
class Trainer {
 public:
  /// With `distributed`, the replicas start from rank 0's weights and average their gradients.
  Trainer(const RunConfig& config, const c10::Device& device,
          DistributedContextPtr distributed = nullptr, const GradientReducerOptions& reducer = {});
  ~Trainer();
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  /// One optimizer step; returns the batch loss (0-d, detached, on the device: reading it syncs).
  torch::Tensor step();
  std::int64_t steps_done() const;
  double last_learning_rate() const;
  double last_grad_norm() const;
  /// Seconds spent in gradient all-reduce not hidden by backward (0 without a process group).
  double communication_seconds() const;
  /// The full state (model, optimizer, EMA, generator) as named tensors, and its inverse.
  NamedTensors state() const;
  void load_state(const std::map<std::string, torch::Tensor>& tensors, std::int64_t step,
                  const std::string& source);
  /// A CPU copy of the model holding the EMA weights, in eval mode: the model to sample from.
  GenerativeModelPtr averaged_model() const;

 private:
  torch::Tensor optimizer_step(const torch::Tensor& loss);
  struct State;
  std::unique_ptr<State> state_;
};

/// Trains the model the configuration describes into options.out_dir.
TrainResult train_model(const RunConfig& config, const TrainOptions& options,
                        const TrainCallbacks& callbacks = {});

}  // namespace fi
