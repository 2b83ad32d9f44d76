// Conditional flow matching as a training objective (Lipman et al. 2023; Tong et al. 2024): each
// micro-batch draws target points x1 and source points x0 (the 2D source, Gaussian noise, or the
// input pictures of image pairs, plus source_noise), pairs them with the coupling, draws times
// t = 1 - (1 - u)^time_skew and asks the path for (x_t, u_t); the loss is
// mean || v(x_t, t, cond) - u_t ||^2.
//
// Guidance: a share label_dropout of the labels becomes the null class (-1) and a share
// input_dropout of the condition pictures all zeros, so the model also learns the unconditional
// velocity. Shards (config.shards > 1): the rows' forward and backward passes run side by side on
// the CPU's threads (sharded_gradient.h); the draws all happen before, on the calling thread.
#pragma once

#include <memory>

#include "flowinone/couplings/coupling.h"
#include "flowinone/data/toy2d.h"
#include "flowinone/models/velocity_model.h"
#include "flowinone/paths/path.h"
#include "flowinone/train/training_objective.h"

namespace fi {

class FlowMatchingObjective : public TrainingObjective {
 public:
  FlowMatchingObjective(VelocityModelPtr network, ObjectiveContext context);
  torch::Tensor accumulate_gradient(const MicroStep& micro) override;

 private:
  struct Batch {
    torch::Tensor xt, t, ut;  // the model's input and time, the path's target velocity
    Conditioning cond;
  };
  Batch draw();  // every random draw of a micro-batch
  /// The mean squared error of rows [begin, begin + count); safe to call from several threads.
  torch::Tensor loss(const Batch& batch, std::int64_t begin, std::int64_t count);

  VelocityModelPtr network_;
  ObjectiveContext context_;
  std::unique_ptr<Toy2dDataset> source_;  // 2D data: the source distribution; images: noise
  std::unique_ptr<Coupling> coupling_;
  std::unique_ptr<ProbabilityPath> path_;
};

}  // namespace fi
