#include "flowinone/train/flow_matching_objective.h"

#include "flowinone/generative/data_spec.h"
#include "flowinone/train/mixed_precision.h"
#include "flowinone/train/sharded_gradient.h"

namespace fi {

namespace {

// Replaces the rows where `drop` is true by `null_value`, for guidance's unconditional half.
torch::Tensor dropped(const torch::Tensor& values, const torch::Tensor& drop, double null_value) {
  torch::Tensor mask = drop;
  while (mask.dim() < values.dim()) mask = mask.unsqueeze(-1);
  return torch::where(mask.to(values.device()), torch::full({}, null_value, values.options()),
                      values);
}

}  // namespace

FlowMatchingObjective::FlowMatchingObjective(VelocityModelPtr network, ObjectiveContext context)
    : network_(std::move(network)), context_(std::move(context)) {
  const RunConfig& config = context_.config;
  if (!is_image_data(config)) source_ = make_toy2d(config.source);
  CouplingOptions coupling_options;
  coupling_options.reg = config.reg;
  coupling_ = make_coupling(parse_coupling(config.coupling), coupling_options);
  path_ = make_path(parse_path(config.path), config.sigma);
}

torch::Tensor FlowMatchingObjective::accumulate_gradient(const MicroStep& micro) {
  const Batch batch = draw();
  if (context_.config.shards > 1) {
    // Shards fill .grad without the gradient reducer's hooks: it reduces all of it afterwards.
    return accumulate_sharded_gradients(
        context_.parameters, batch.xt.size(0), context_.config.shards, context_.device.is_cpu(),
        [&](std::int64_t begin, std::int64_t count) { return loss(batch, begin, count); },
        1.0 / static_cast<double>(micro.accum));
  }
  const torch::Tensor value = loss(batch, 0, batch.xt.size(0));
  if (micro.before_backward) micro.before_backward();
  backward_scaled(value, micro.accum);
  return value.detach();
}

FlowMatchingObjective::Batch FlowMatchingObjective::draw() {
  const RunConfig& config = context_.config;
  const RankRows& rows = context_.rows;
  const c10::Device& device = context_.device;
  at::Generator& generator = context_.generator;
  const std::int64_t global = rows.global();
  // Target before source: the order GCC gave the two draws when they were arguments of one call,
  // kept so that seeds from before data parallelism give the same runs.
  TrainingBatch data = context_.data->next(global, generator);
  const torch::Tensor x1 = data.x1.to(device);
  torch::Tensor x0;
  if (data.x0.defined()) {
    x0 = data.x0.to(device);
    if (config.source_noise > 0) {
      // Drawn only when asked for, so that runs without it keep their random streams.
      x0 = x0 + config.source_noise * path_noise(data.x0, generator).to(device);
    }
  } else if (source_) {
    x0 = source_->sample(global, generator).to(device);
  } else {
    x0 = torch::randn(data.x1.sizes(), generator).to(device);
  }
  // Guidance: a share of the labels become the null class (-1), and of the condition images
  // all zeros (a flat mid-gray no prompt is drawn as); drawn for the global batch.
  Conditioning cond;
  if (data.labels.defined()) {
    torch::Tensor labels = data.labels;
    if (config.label_dropout > 0)
      labels = dropped(labels, torch::rand({global}, generator) < config.label_dropout, -1);
    cond.labels = rows.of(labels.to(device));
  }
  if (data.condition.defined()) {
    torch::Tensor image = data.condition;
    if (config.input_dropout > 0)
      image = dropped(image, torch::rand({global}, generator) < config.input_dropout, 0.0);
    cond.image = rows.of(image.to(device));
  }
  const CoupledPairs pairs = coupling_->pair(rows.of(x0), rows.of(x1), torch::Tensor(), generator);
  const torch::Tensor t = sample_times(global, generator, device, config.time_skew);
  PathSample sample;
  if (rows.world == 1) {
    sample = path_->sample(pairs.x0, pairs.x1, t, generator);
  } else {
    // The path's noise, too, is drawn for the global batch.
    const PathSample whole =
        path_->sample(rows.merged(x0, pairs.x0), rows.merged(x1, pairs.x1), t, generator);
    sample = PathSample{rows.of(whole.t), rows.of(whole.xt), rows.of(whole.ut)};
  }
  return Batch{sample.xt, sample.t, sample.ut, cond};
}

torch::Tensor FlowMatchingObjective::loss(const Batch& batch, std::int64_t begin,
                                          std::int64_t count) {
  auto rows = [&](const torch::Tensor& x) { return x.defined() ? x.narrow(0, begin, count) : x; };
  const Conditioning cond{rows(batch.cond.labels), rows(batch.cond.image)};
  torch::Tensor velocity;
  {
    // Autocast is thread-local: set here, on the thread that runs this shard.
    AutocastScope autocast(context_.device, context_.config.precision);
    velocity = cond.empty() ? network_->forward(rows(batch.xt), rows(batch.t))
                            : network_->forward(rows(batch.xt), rows(batch.t), cond);
  }
  return (velocity.to(torch::kFloat32) - rows(batch.ut)).pow(2).mean();
}

}  // namespace fi
