#include "flowinone/train/likelihood_objective.h"

#include <algorithm>

#include "flowinone/core/random.h"
#include "flowinone/flows/bijector.h"

namespace fi {

LikelihoodObjective::LikelihoodObjective(FlowPtr flow, ObjectiveContext context)
    : flow_(std::move(flow)), context_(std::move(context)) {
  const RunConfig& config = context_.config;
  at::Generator init = make_generator(static_cast<std::uint64_t>(config.seed) ^ 0xac7e0a11ULL);
  flow_->set_dequantization_generator(init);  // image flows: the noise of that batch
  const TrainingBatch batch =
      context_.data->initialization_batch(std::max<std::int64_t>(config.batch_size, 512), init);
  flow_->initialize(batch.x1.to(context_.device),
                    batch.labels.defined() ? batch.labels.to(context_.device) : torch::Tensor());
  flow_->set_dequantization_generator(context_.generator);
}

torch::Tensor LikelihoodObjective::accumulate_gradient(const MicroStep& micro) {
  const RankRows& rows = context_.rows;
  const TrainingBatch data = context_.data->next(rows.global(), context_.generator);
  const torch::Tensor labels =
      data.labels.defined() ? rows.of(data.labels.to(context_.device)) : torch::Tensor();
  torch::Tensor loss;
  try {
    loss = -flow_->log_prob(rows.of(data.x1.to(context_.device)), labels).mean();
  } catch (const NonFiniteError& error) {
    throw std::runtime_error(std::string(error.what()) + " at step " +
                             std::to_string(micro.step + 1));
  }
  if (micro.before_backward) micro.before_backward();
  backward_scaled(loss, micro.accum);
  return loss.detach();
}

}  // namespace fi
