#include "flowinone/train/preview.h"

#include <cstdio>

#include "flowinone/core/errors.h"
#include "flowinone/generative/data_spec.h"
#include "flowinone/prompts/prompt_task.h"
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

Image preview_picture(GenerativeModel& model) {
  const RunConfig& config = model.config();
  const ModelInfo info = model.describe();
  check_arg(info.is_image, "[preview] previews are pictures of image models");
  torch::NoGradGuard no_grad;
  torch::Tensor labels;
  std::int64_t n = kColumns * kColumns;
  if (info.num_classes > 0) {
    const std::int64_t rows = std::min<std::int64_t>(info.num_classes, 10);
    n = rows * kColumns;
    labels = torch::arange(rows, torch::kInt64).repeat_interleave(kColumns);
  }
  GenerationOptions options;
  options.solve.solver = SolverKind::kEuler;
  options.solve.num_steps = 20;
  options.temperature = info.default_temperature;
  options.seed = kPreviewSeed;
  if (info.translates) {
    const torch::Tensor inputs = preview_inputs(config);
    const torch::Tensor outputs = model.translate(inputs, options).x;
    return image_grid(torch::cat({inputs, outputs.cpu()}), kColumns);
  }
  return image_grid(model.sample(n, labels, options).x, kColumns);
}

std::string preview_path(const std::string& dir, std::int64_t step) {
  char name[64];
  std::snprintf(name, sizeof name, "/samples/step_%08lld.png", static_cast<long long>(step));
  return dir + name;
}

}  // namespace fi
