#include "flowinone/generative/normalizing_flow_model.h"

#include "flowinone/core/errors.h"
#include "flowinone/core/random.h"

namespace fi {

namespace {
// Rows per forward pass when scoring: 4096 points, or 500 pictures, which bounds the activations
// of image flows (a Glow level on 500 Fashion-MNIST pictures holds a few hundred MB).
constexpr std::int64_t kPointsPerPass = 4096;
constexpr std::int64_t kPicturesPerPass = 500;
}  // namespace

NormalizingFlowModel::NormalizingFlowModel(RunConfig config, FlowPtr flow)
    : GenerativeModel(std::move(config)), flow_(std::move(flow)) {
  check_arg(flow_ != nullptr, "[NormalizingFlowModel] no flow");
}

ModelInfo NormalizingFlowModel::describe() const {
  ModelInfo info = common_info();
  info.family = ModelFamily::kNormalizingFlow;
  info.temperature = true;
  info.likelihood = true;
  info.default_temperature = config().temperature;
  return info;
}

Generated NormalizingFlowModel::sample(std::int64_t n, const torch::Tensor& labels,
                                       const GenerationOptions& options) {
  check_arg(n >= 1, "[sample] n must be >= 1, got ", n);
  check_arg(!labels.defined() || config().num_classes > 0, "[sample] the flow ", config().model,
            " is not class-conditional (num_classes = 0): it takes no class");
  check_arg(labels.defined() || config().num_classes == 0, "[sample] the flow ", config().model,
            " is class-conditional: give the classes");
  check_arg(!labels.defined() || (labels.dim() == 1 && labels.size(0) == n),
            "[sample] labels must be (", n, ")");
  at::Generator generator = make_generator(options.seed);
  torch::NoGradGuard no_grad;
  Generated generated;
  generated.x = flow_->sample(n, options.temperature, generator,
                              labels.defined() ? labels.to(device()) : torch::Tensor());
  return generated;
}

LogDensity NormalizingFlowModel::log_prob(const torch::Tensor& x, const torch::Tensor& labels,
                                          const ScoringOptions& options) {
  // A class-conditional flow is scored given the labels: it has no null class.
  check_arg(labels.defined() == (config().num_classes > 0), "[likelihood] the flow ",
            config().model, labels.defined() ? " takes no class" : " needs the classes");
  at::Generator generator = make_generator(options.seed);
  flow_->set_dequantization_generator(generator);
  torch::NoGradGuard no_grad;
  const torch::Tensor points = x.to(device());
  const torch::Tensor classes = labels.defined() ? labels.to(device()) : torch::Tensor();
  const std::int64_t chunk = options.batch_size > 0 ? options.batch_size
                             : points.dim() > 2     ? kPicturesPerPass
                                                    : kPointsPerPass;
  std::vector<torch::Tensor> parts;
  for (std::int64_t first = 0; first < points.size(0); first += chunk) {
    const std::int64_t size = std::min(chunk, points.size(0) - first);
    parts.push_back(flow_
                        ->log_prob(points.narrow(0, first, size),
                                   classes.defined() ? classes.narrow(0, first, size) : classes)
                        .to(torch::kFloat64));
  }
  LogDensity density;
  density.log_p = torch::cat(parts);
  return density;
}

LogDensity NormalizingFlowModel::sample_with_log_prob(std::int64_t n,
                                                      const GenerationOptions& generation,
                                                      const ScoringOptions& scoring) {
  LogDensity density;
  density.x = sample(n, torch::Tensor(), generation).x;
  torch::NoGradGuard no_grad;
  density.log_p = flow_->log_prob(density.x).to(torch::kFloat64);
  return density;
}

}  // namespace fi
