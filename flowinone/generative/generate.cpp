#include "flowinone/generative/generate.h"

#include "flowinone/core/errors.h"
#include "flowinone/core/random.h"
#include "flowinone/data/toy2d.h"
#include "flowinone/generative/data_spec.h"
#include "flowinone/generative/guidance.h"
#include "flowinone/generative/point_rows.h"

namespace fi {

VelocityFn model_velocity(const VelocityModelPtr& model) {
  const auto parameters = model->parameters();
  const c10::Device device = parameters.empty() ? c10::Device(c10::kCPU) : parameters[0].device();
  return [model, device](const torch::Tensor& x, double t) {
    torch::NoGradGuard no_grad;
    // Callers such as the plots hand CPU tensors to a model that may live on a GPU.
    const torch::Tensor input = x.device() == device ? x : x.to(device);
    const torch::Tensor times = torch::full({x.size(0)}, t, input.options().dtype(torch::kFloat32));
    const torch::Tensor velocity = model->forward(input, times);
    return x.device() == device ? velocity : velocity.to(x.device());
  };
}

torch::Tensor sample_source(const RunConfig& config, std::int64_t n, std::uint64_t seed,
                            const c10::Device& device) {
  check_arg(n >= 1, "[sample_source] n must be >= 1, got ", n);
  at::Generator generator = make_generator(seed);
  if (is_image_data(config)) {
    check_arg(config.source == "gaussian", "[sample_source] the model flows from its input ",
              "pictures (source = input): give the inputs");
    std::vector<std::int64_t> shape = data_shape(config);
    shape.insert(shape.begin(), n);
    return torch::randn(shape, generator).to(device);
  }
  return make_toy2d(config.source)->sample(n, generator).to(device);
}

torch::Tensor given_noise(const torch::Tensor& noise, c10::IntArrayRef shape,
                          const c10::Device& device) {
  check_arg(noise.defined() && noise.sizes() == shape, "[generate] the given noise must be ", shape,
            ", got ", noise.defined() ? noise.sizes() : c10::IntArrayRef{});
  return noise.to(device, torch::kFloat32);
}

torch::Tensor sample_target(const RunConfig& config, std::int64_t n, std::uint64_t seed) {
  check_arg(n >= 1, "[sample_target] n must be >= 1, got ", n);
  at::Generator generator = make_generator(seed);
  return make_toy2d(config.target)->sample(n, generator);
}

Solution generate(const VelocityModelPtr& model, const RunConfig& config, std::int64_t n,
                  std::uint64_t seed, const SolveOptions& options, const c10::Device& device) {
  return solve_point_rows(model_velocity(model), sample_source(config, n, seed, device), options);
}

Solution generate_conditioned(const VelocityModelPtr& model, const torch::Tensor& x0,
                              const Conditioning& cond, double guidance,
                              const SolveOptions& options) {
  if (cond.empty()) return solve_ode(model_velocity(model), x0, options);
  return solve_ode(guided_velocity(model, cond, null_condition(cond), guidance), x0, options);
}

VelocityFn differentiable_model_velocity(const VelocityModelPtr& model) {
  check_arg(model != nullptr, "[differentiable_model_velocity] null model");
  const auto parameters = model->parameters();
  const c10::Device device = parameters.empty() ? c10::Device(c10::kCPU) : parameters[0].device();
  return [model, device](const torch::Tensor& x, double t) {
    torch::AutoGradMode grad_mode(true);
    // Moving x keeps it in the graph: the gradient flows back to the caller's tensor.
    const torch::Tensor input = x.device() == device ? x : x.to(device);
    const torch::Tensor times = torch::full({x.size(0)}, t, input.options().requires_grad(false));
    const torch::Tensor velocity = model->forward(input, times);
    return x.device() == device ? velocity : velocity.to(x.device());
  };
}

void check_likelihood_source(const RunConfig& config) {
  check_arg(config.source == "gaussian", "[likelihood] the model's source distribution is '",
            config.source,
            "': the likelihood needs a source density known in closed form, and only the "
            "standard Gaussian (source = \"gaussian\") is supported");
}

}  // namespace fi
