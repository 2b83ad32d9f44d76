#include "flowinone/train/preview.h"

#include <cstdio>

#include "flowinone/core/errors.h"
#include "flowinone/core/random.h"
#include "flowinone/flows/flow.h"
#include "flowinone/prompts/prompt_task.h"
#include "flowinone/solvers/image_generation.h"
#include "flowinone/train/data_spec.h"
#include "flowinone/train/training_data.h"
#include "flowinone/viz/image_grid.h"

namespace fi {

namespace {

constexpr int kColumns = 8;
constexpr std::uint64_t kPreviewSeed = 0x9e7e5eedULL;

// kColumns inputs the model is shown every time: test items, or the first pairs of a folder.
torch::Tensor preview_inputs(const RunConfig& config) {
  if (data_kind(config) == DataKind::kVisPrompt) {
    std::unique_ptr<ItemSource> items = open_prompt_items(config, Split::kTest);
    PromptOptions options;
    options.size = static_cast<int>(data_shape(config)[1]);
    return make_prompt_batch(*items, kColumns, kPreviewSeed, options).inputs;
  }
  return first_examples(*open_image_dataset(config, Split::kTest), kColumns).images;
}

}  // namespace

Image preview_picture(torch::nn::Module& model, const RunConfig& config,
                      const c10::Device& device) {
  check_arg(is_image_data(config), "[preview] previews are pictures of image models");
  torch::NoGradGuard no_grad;
  torch::Tensor labels;
  std::int64_t n = kColumns * kColumns;
  if (config.num_classes > 0) {
    const std::int64_t rows = std::min<std::int64_t>(config.num_classes, 10);
    n = rows * kColumns;
    labels = torch::arange(rows, torch::kInt64).repeat_interleave(kColumns);
  }
  if (auto* flow = dynamic_cast<Flow*>(&model)) {
    at::Generator generator = make_generator(kPreviewSeed);
    const torch::Tensor cond = labels.defined() ? labels.to(device) : torch::Tensor();
    return image_grid(flow->sample(n, config.temperature, generator, cond), kColumns);
  }
  auto* velocity = dynamic_cast<VelocityModel*>(&model);
  check_arg(velocity != nullptr, "[preview] the model is neither a velocity network nor a flow");
  // A non-owning pointer: the solvers take shared pointers, the trainer owns the model.
  const VelocityModelPtr shared(velocity, [](VelocityModel*) {});
  ImageGenerationOptions options;
  options.solve.solver = SolverKind::kEuler;
  options.solve.num_steps = 20;
  options.seed = kPreviewSeed;
  if (is_image_pairs(config)) {
    const torch::Tensor inputs = preview_inputs(config);
    const torch::Tensor outputs = translate_images(shared, config, inputs, options, device);
    return image_grid(torch::cat({inputs, outputs.cpu()}), kColumns);
  }
  return image_grid(generate_images(shared, config, n, labels, options, device), kColumns);
}

std::string preview_path(const std::string& dir, std::int64_t step) {
  char name[64];
  std::snprintf(name, sizeof name, "/samples/step_%08lld.png", static_cast<long long>(step));
  return dir + name;
}

}  // namespace fi
