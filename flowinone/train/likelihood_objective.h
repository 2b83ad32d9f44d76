// Maximum likelihood as a training objective, for normalizing flows: each micro-batch draws data
// x (and its labels, for a class-conditional flow: it has no null class to drop them to) and the
// loss is the mean of -log p(x) in nats (on the 8-bit scale for images, whose Dequantize layer
// draws its noise from the training generator, so a resumed run draws what an uninterrupted one
// would).
//
// Before training, ActNorm layers are initialized from a batch of their own, drawn with a
// generator of its own, so that the training draws are those of any other model with this seed.
// A non-finite log-density stops training with an error naming the layer and the step.
#pragma once

#include "flowinone/flows/flow.h"
#include "flowinone/train/training_objective.h"

namespace fi {

class LikelihoodObjective : public TrainingObjective {
 public:
  LikelihoodObjective(FlowPtr flow, ObjectiveContext context);
  torch::Tensor accumulate_gradient(const MicroStep& micro) override;

 private:
  FlowPtr flow_;
  ObjectiveContext context_;
};

}  // namespace fi
