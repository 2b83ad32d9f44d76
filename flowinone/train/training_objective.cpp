#include "flowinone/train/training_objective.h"

#include <stdexcept>

#include "flowinone/generative/flow_matching_model.h"
#include "flowinone/generative/normalizing_flow_model.h"
#include "flowinone/train/flow_matching_objective.h"
#include "flowinone/train/likelihood_objective.h"

namespace fi {

std::unique_ptr<TrainingObjective> make_training_objective(GenerativeModel& model,
                                                           const ObjectiveContext& context) {
  // The one place that pairs a family with its objective.
  if (auto* velocity = dynamic_cast<FlowMatchingModel*>(&model)) {
    return std::make_unique<FlowMatchingObjective>(velocity->network(), context);
  }
  if (auto* flow = dynamic_cast<NormalizingFlowModel*>(&model)) {
    return std::make_unique<LikelihoodObjective>(flow->flow(), context);
  }
  throw std::logic_error("[make_training_objective] no objective for the model " +
                         model.config().model);
}

void backward_scaled(const torch::Tensor& loss, std::int64_t accum) {
  (accum > 1 ? loss / static_cast<double>(accum) : loss).backward();
}

}  // namespace fi
