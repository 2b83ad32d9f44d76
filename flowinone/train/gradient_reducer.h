// Averages gradients over the ranks of a process group after each backward pass, in buckets.
//
// Parameters are packed, in reverse order (the order backward produces their gradients), into
// flat buckets of about `bucket_bytes` (25 MB, as in PyTorch's DDP). While armed, a gradient hook
// on every parameter copies its gradient into its bucket the moment autograd computes it; a full
// bucket starts its all-reduce at once, so communication overlaps the rest of the backward pass.
// Buckets start strictly in index order, the same on every rank, as c10d requires. finish()
// starts what the hooks did not (every bucket, when not armed), waits, and writes the averages
// back into .grad.
//
// Gradient accumulation: arm only before the last backward of an optimizer step. The hooks add
// the gradient already accumulated in .grad, so one reduction per optimizer step averages the
// whole accumulated gradient. Parameters that received no gradient contribute .grad (or zeros).
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <vector>

#include "flowinone/train/distributed.h"

namespace fi {

struct GradientReducerOptions {
  std::int64_t bucket_bytes = 25LL << 20;
  bool overlap = true;  // launch buckets from the gradient hooks; else all after backward
};

class GradientReducer {
 public:
  GradientReducer(std::vector<torch::Tensor> parameters, DistributedContextPtr context,
                  const GradientReducerOptions& options = {});
  ~GradientReducer();
  GradientReducer(const GradientReducer&) = delete;
  GradientReducer& operator=(const GradientReducer&) = delete;

  /// Arms the hooks for the next backward pass (the last one of an optimizer step).
  void prepare_for_backward();
  /// Makes every parameter's .grad the mean over ranks; call after the last backward pass.
  void finish();

  std::int64_t num_buckets() const { return static_cast<std::int64_t>(buckets_.size()); }
  /// Wall time spent in finish() since construction: the all-reduce time not hidden by backward.
  double communication_seconds() const { return communication_seconds_; }
  std::int64_t num_reductions() const { return num_reductions_; }

 private:
  struct Slot {
    std::int64_t bucket = 0;
    std::int64_t offset = 0;  // in elements, within the bucket
    bool ready = false;
  };
  struct Bucket {
    torch::Tensor flat;  // (numel,) of the bucket's dtype, on its parameters' device
    std::vector<std::int64_t> parameters;
    std::int64_t num_ready = 0;
    PendingCollective pending;
  };

  void on_gradient(std::int64_t index, const torch::Tensor& grad);
  void launch_ready_buckets();
  void launch(Bucket& bucket);
  void fill_from_grad(std::int64_t index);

  std::vector<torch::Tensor> parameters_;
  DistributedContextPtr context_;
  GradientReducerOptions options_;
  std::vector<Slot> slots_;
  std::vector<Bucket> buckets_;
  std::vector<unsigned> hook_handles_;
  std::size_t next_launch_ = 0;
  bool armed_ = false;
  double communication_seconds_ = 0;
  std::int64_t num_reductions_ = 0;
};

}  // namespace fi
