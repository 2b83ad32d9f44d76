#include "flowinone/generative/flow_matching_model.h"

#include <cmath>
#include <optional>

#include "flowinone/core/errors.h"
#include "flowinone/core/random.h"
#include "flowinone/core/single_threaded.h"
#include "flowinone/generative/data_spec.h"
#include "flowinone/generative/generate.h"
#include "flowinone/generative/image_generation.h"
#include "flowinone/generative/point_rows.h"

namespace fi {

FlowMatchingModel::FlowMatchingModel(RunConfig config, VelocityModelPtr network)
    : GenerativeModel(std::move(config)), network_(std::move(network)) {
  check_arg(network_ != nullptr, "[FlowMatchingModel] no velocity network");
}

ModelInfo FlowMatchingModel::describe() const {
  ModelInfo info = common_info();
  info.family = ModelFamily::kFlowMatching;
  info.integrates = true;
  info.guidance = info.num_classes > 0 || info.translates;
  info.likelihood = config().source == "gaussian" && !info.translates;
  info.default_solve.solver = parse_solver(config().sample_solver);
  info.default_solve.num_steps = static_cast<int>(config().sample_steps);
  info.default_guidance = config().guidance;
  return info;
}

Generated FlowMatchingModel::sample(std::int64_t n, const torch::Tensor& labels,
                                    const GenerationOptions& options) {
  Generated generated;
  if (is_image_data(config())) {
    generated.x = generate_images(network_, config(), n, labels, options, device(), &generated.nfe);
    return generated;
  }
  check_arg(!labels.defined(), "[sample] the 2D model ", config().model, " takes no class");
  const torch::Tensor x0 = options.noise.defined()
                               ? given_noise(options.noise, {n, 2}, device())
                               : sample_source(config(), n, options.seed, device());
  Solution solution = solve_point_rows(model_velocity(network_), x0, options.solve);
  generated.x = std::move(solution.x);
  generated.nfe = solution.nfe;
  generated.times = std::move(solution.times);
  generated.trajectory = std::move(solution.trajectory);
  return generated;
}

LogDensity FlowMatchingModel::log_prob(const torch::Tensor& x, const torch::Tensor& labels,
                                       const ScoringOptions& options) {
  check_arg(!is_image_pairs(config()), "[likelihood] the model translates pictures; its ",
            "likelihood is not of the data but of outputs given inputs");
  check_likelihood_source(config());
  LikelihoodOptions likelihood = options.likelihood;
  const VelocityFn velocity = differentiable_model_velocity(network_);
  if (!is_image_data(config())) {
    likelihood.batch_size = options.batch_size;
    // A 2D model's passes are far too small for torch's intra-op threads (single_threaded.h).
    std::optional<SingleThreaded> single;
    if (device().is_cpu()) single.emplace();
    return log_likelihood(velocity, x.to(device()), likelihood);
  }
  // Uniform dequantization of the 8-bit pictures, then the density on the 8-bit scale, as the
  // flows report it (their Dequantize layer counts the scaling): nll_nats is then
  // bits_per_dim * D ln 2 for both families.
  at::Generator generator = make_generator(options.seed);
  const torch::Tensor pictures = x.to(torch::kCPU);
  const torch::Tensor noise = torch::rand(pictures.sizes(), generator);
  likelihood.batch_size = options.batch_size > 0 ? options.batch_size : 100;
  LogDensity density =
      log_likelihood(velocity, (pictures + noise / 127.5).to(device()), likelihood);
  const double dim = static_cast<double>(pictures[0].numel());
  density.log_p = density.log_p - dim * std::log(127.5);
  return density;
}

LogDensity FlowMatchingModel::sample_with_log_prob(std::int64_t n,
                                                   const GenerationOptions& generation,
                                                   const ScoringOptions& scoring) {
  check_likelihood_source(config());
  return sample_with_log_density(differentiable_model_velocity(network_),
                                 sample_source(config(), n, generation.seed, device()),
                                 scoring.likelihood);
}

Generated FlowMatchingModel::translate(const torch::Tensor& inputs,
                                       const GenerationOptions& options) {
  Generated generated;
  generated.x = translate_images(network_, config(), inputs, options, device(), &generated.nfe);
  return generated;
}

torch::Tensor FlowMatchingModel::source_noise(std::int64_t n, std::uint64_t seed) {
  if (!is_image_pairs(config())) return sample_source(config(), n, seed, device());
  // Translation: the Gaussian draw of translate_images, whatever the source.
  check_arg(n >= 1, "[source_noise] n must be >= 1, got ", n);
  at::Generator generator = make_generator(seed);
  std::vector<std::int64_t> shape = data_shape(config());
  shape.insert(shape.begin(), n);
  return torch::randn(shape, generator).to(device());
}

VelocityFn FlowMatchingModel::velocity_field() { return model_velocity(network_); }

}  // namespace fi
