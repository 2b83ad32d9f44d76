#include "flowinone/solvers/image_generation.h"

#include "flowinone/core/errors.h"
#include "flowinone/core/random.h"
#include "flowinone/solvers/generate.h"
#include "flowinone/train/data_spec.h"

namespace fi {

namespace {

std::vector<std::int64_t> batch_shape(const RunConfig& config, std::int64_t n) {
  std::vector<std::int64_t> shape = data_shape(config);
  shape.insert(shape.begin(), n);
  return shape;
}

torch::Tensor solved(const VelocityModelPtr& model, const torch::Tensor& x0,
                     const Conditioning& cond, const ImageGenerationOptions& options,
                     std::int64_t* nfe) {
  Solution solution = generate_conditioned(model, x0, cond, options.guidance, options.solve);
  if (nfe) *nfe = solution.nfe;
  return solution.x;
}

}  // namespace

torch::Tensor generate_images(const VelocityModelPtr& model, const RunConfig& config,
                              std::int64_t n, const torch::Tensor& labels,
                              const ImageGenerationOptions& options, const c10::Device& device,
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
  at::Generator generator = make_generator(options.seed);
  const torch::Tensor x0 = torch::randn(batch_shape(config, n), generator).to(device);
  return solved(model, x0, cond, options, nfe);
}

torch::Tensor translate_images(const VelocityModelPtr& model, const RunConfig& config,
                               const torch::Tensor& inputs, const ImageGenerationOptions& options,
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
  torch::Tensor x0;
  if (config.source == "input") {
    x0 = cond.image;
    if (config.sigma > 0)
      x0 = x0 + config.sigma * torch::randn(inputs.sizes(), generator).to(device);
  } else {
    x0 = torch::randn(inputs.sizes(), generator).to(device);
  }
  return solved(model, x0, cond, options, nfe);
}

}  // namespace fi
