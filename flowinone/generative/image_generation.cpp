#include "flowinone/generative/image_generation.h"

#include <cmath>

#include "flowinone/core/errors.h"
#include "flowinone/core/random.h"
#include "flowinone/generative/data_spec.h"
#include "flowinone/generative/generate.h"

namespace fi {

namespace {

std::vector<std::int64_t> batch_shape(const RunConfig& config, std::int64_t n) {
  std::vector<std::int64_t> shape = data_shape(config);
  shape.insert(shape.begin(), n);
  return shape;
}

torch::Tensor solved(const VelocityModelPtr& model, const torch::Tensor& x0,
                     const Conditioning& cond, const GenerationOptions& options,
                     std::int64_t* nfe) {
  check_arg(options.batch_size >= 1, "[generate] batch_size must be >= 1, got ",
            options.batch_size);
  const std::int64_t n = x0.size(0);
  std::vector<torch::Tensor> chunks;
  std::int64_t nfe_sum = 0;
  for (std::int64_t start = 0; start < n; start += options.batch_size) {
    const std::int64_t size = std::min(options.batch_size, n - start);
    Conditioning part;
    if (cond.labels.defined()) part.labels = cond.labels.narrow(0, start, size);
    if (cond.image.defined()) part.image = cond.image.narrow(0, start, size);
    Solution solution = generate_conditioned(model, x0.narrow(0, start, size), part,
                                             options.guidance, options.solve);
    chunks.push_back(solution.x);
    nfe_sum += solution.nfe;
  }
  if (nfe) *nfe = nfe_sum / static_cast<std::int64_t>(chunks.size());
  return chunks.size() == 1 ? chunks[0] : torch::cat(chunks);
}

}  // namespace

torch::Tensor generate_images(const VelocityModelPtr& model, const RunConfig& config,
                              std::int64_t n, const torch::Tensor& labels,
                              const GenerationOptions& options, const c10::Device& device,
                              std::int64_t* nfe) {
  check_arg(is_image_data(config) && !is_image_pairs(config), "[generate_images] the model (",
            "target ", config.target, ") does not generate images from noise",
            is_image_pairs(config) ? ": it translates input pictures" : "");
  check_arg(n >= 1, "[generate_images] n must be >= 1, got ", n);
  Conditioning cond;
  if (labels.defined()) {
    check_arg(config.num_classes > 0, "[generate_images] the model is not class-conditional ",
              "(num_classes = 0): it takes no class");
    check_arg(labels.dim() == 1 && labels.size(0) == n, "[generate_images] labels must be (", n,
              "), got ", labels.sizes());
    check_arg(labels.min().item<std::int64_t>() >= -1 &&
                  labels.max().item<std::int64_t>() < config.num_classes,
              "[generate_images] classes must be in [0, ", config.num_classes, ")");
    cond.labels = labels.to(device, torch::kInt64);
  }
  const std::vector<std::int64_t> shape = batch_shape(config, n);
  at::Generator generator = make_generator(options.seed);
  const torch::Tensor x0 = options.noise.defined() ? given_noise(options.noise, shape, device)
                                                   : torch::randn(shape, generator).to(device);
  return solved(model, x0, cond, options, nfe);
}

torch::Tensor translate_images(const VelocityModelPtr& model, const RunConfig& config,
                               const torch::Tensor& inputs, const GenerationOptions& options,
                               const c10::Device& device, std::int64_t* nfe) {
  check_arg(is_image_pairs(config), "[translate] the model (target ", config.target,
            ") does not translate pictures: it was not trained on image pairs");
  const std::vector<std::int64_t> shape = data_shape(config);
  check_arg(inputs.dim() == 4 && inputs.size(0) >= 1 &&
                inputs.sizes().slice(1) == c10::IntArrayRef(shape),
            "[translate] inputs must be (B, ", shape[0], ", ", shape[1], ", ", shape[2],
            ") to match the model, got ", inputs.sizes());
  Conditioning cond;
  cond.image = inputs.to(device, torch::kFloat32);
  at::Generator generator = make_generator(options.seed);
  auto gaussian = [&] {
    return options.noise.defined() ? given_noise(options.noise, inputs.sizes(), device)
                                   : torch::randn(inputs.sizes(), generator).to(device);
  };
  torch::Tensor x0;
  if (config.source == "input") {
    // Training saw input + source_noise * eps1 + sigma * eps2 at t = 0: one Gaussian of the
    // combined std (equal to sigma, and the same draws, without source noise).
    x0 = cond.image;
    const double noise = std::hypot(config.sigma, config.source_noise);
    if (noise > 0) x0 = x0 + noise * gaussian();
  } else {
    x0 = gaussian();
  }
  return solved(model, x0, cond, options, nfe);
}

}  // namespace fi
