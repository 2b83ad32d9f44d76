#include "flowinone/prompts/prompt_task.h"

#include "flowinone/core/errors.h"
#include "flowinone/core/named_values.h"
#include "flowinone/core/random.h"
#include "flowinone/prompts/task_generators.h"

namespace fi {
namespace {

using prompt_tasks::kBaseSize;

constexpr NamedValue<PromptTask> kTaskNames[] = {
    {PromptTask::kClass2Image, "class2image"},
    {PromptTask::kText2Image, "text2image"},
    {PromptTask::kDoodle, "doodle"},
    {PromptTask::kTextInImage, "text_in_image"},
    {PromptTask::kBoxEdit, "box_edit"},
    {PromptTask::kVisMarker, "vismarker"},
    {PromptTask::kForce, "force"},
    {PromptTask::kTrajectory, "trajectory"},
};

int check_size(const PromptOptions& options, const char* where) {
  check_arg(options.size >= kBaseSize && options.size % kBaseSize == 0, "[", where,
            "] canvas size ", options.size, " must be a positive multiple of ", kBaseSize);
  return options.size / kBaseSize;
}

/// Each pixel becomes a factor x factor block.
torch::Tensor enlarge(const torch::Tensor& image, int factor) {
  if (factor == 1) return image;
  return image.repeat_interleave(factor, 1).repeat_interleave(factor, 2);
}

CanvasPoint scaled(CanvasPoint p, int factor) { return {p.x * factor, p.y * factor}; }

PixelRect scaled(const PixelRect& r, int factor) {
  return {r.x0 * factor, r.y0 * factor, r.x1 * factor, r.y1 * factor};
}

/// The pair at factor times the base size; pixel (x, y) becomes the block whose centres
/// average to factor * (x + 0.5), so every coordinate scales by the factor.
void enlarge_pair(PromptPair& pair, int factor) {
  if (factor == 1) return;
  pair.input = enlarge(pair.input, factor);
  pair.output = enlarge(pair.output, factor);
  auto& info = pair.info;
  info.size *= factor;
  info.word_x *= factor;
  info.word_y *= factor;
  info.word_style.scale *= factor;
  info.box = scaled(info.box, factor);
  info.target_region = scaled(info.target_region, factor);
  info.target_center = scaled(info.target_center, factor);
  info.marker = scaled(info.marker, factor);
  info.shift_x *= factor;
  info.shift_y *= factor;
  info.ball_radius *= factor;
  info.ball_start = scaled(info.ball_start, factor);
  info.ball_center = scaled(info.ball_center, factor);
  info.arrow_length *= factor;
  for (auto& p : info.trail) p = scaled(p, factor);
  info.edit_mask = enlarge(info.edit_mask, factor);
}

}  // namespace

const std::vector<PromptTask>& all_prompt_tasks() {
  static const std::vector<PromptTask> tasks = [] {
    std::vector<PromptTask> all;
    for (const auto& entry : kTaskNames) all.push_back(entry.value);
    return all;
  }();
  return tasks;
}

std::string prompt_task_names() { return valid_names(kTaskNames); }

PromptTask parse_prompt_task(const std::string& name) {
  return parse_named(kTaskNames, name, "task");
}

std::string to_string(PromptTask task) { return name_of(kTaskNames, task); }

PromptPair make_prompt_pair(PromptTask task, const ItemSource& items, std::uint64_t seed,
                            const PromptOptions& options) {
  const int factor = check_size(options, "make_prompt_pair");
  at::Generator generator = make_generator(seed);
  PromptPair pair;
  switch (task) {
    case PromptTask::kClass2Image:
      pair = prompt_tasks::make_class2image(items, generator);
      break;
    case PromptTask::kText2Image:
      pair = prompt_tasks::make_text2image(items, generator);
      break;
    case PromptTask::kDoodle:
      pair = prompt_tasks::make_doodle(items, generator);
      break;
    case PromptTask::kTextInImage:
      pair = prompt_tasks::make_text_in_image(items, generator);
      break;
    case PromptTask::kBoxEdit:
      pair = prompt_tasks::make_box_edit(items, generator);
      break;
    case PromptTask::kVisMarker:
      pair = prompt_tasks::make_vismarker(items, generator);
      break;
    case PromptTask::kForce:
      pair = prompt_tasks::make_force(generator);
      break;
    case PromptTask::kTrajectory:
      pair = prompt_tasks::make_trajectory(generator);
      break;
  }
  pair.info.seed = seed;
  enlarge_pair(pair, factor);
  return pair;
}

PromptBatch make_prompt_batch(const ItemSource& items, std::int64_t batch_size, std::uint64_t seed,
                              const PromptOptions& options, const std::vector<PromptTask>& tasks) {
  check_arg(batch_size >= 1, "[make_prompt_batch] batch size ", batch_size, " must be at least 1");
  check_arg(!tasks.empty(), "[make_prompt_batch] the task list is empty");
  check_size(options, "make_prompt_batch");
  at::Generator generator = make_generator(seed);
  const torch::Tensor task_draws =
      torch::randint(0, std::int64_t(tasks.size()), {batch_size}, generator, torch::kInt64);
  // Seeds below 2^62: any value the generator accepts, drawn from the batch's own stream.
  const torch::Tensor seeds =
      torch::randint(0, std::int64_t(1) << 62, {batch_size}, generator, torch::kInt64);
  PromptBatch batch;
  std::vector<torch::Tensor> inputs, outputs;
  std::vector<std::int64_t> task_indices;
  for (std::int64_t b = 0; b < batch_size; ++b) {
    const PromptTask task = tasks[std::size_t(task_draws[b].item<std::int64_t>())];
    PromptPair pair =
        make_prompt_pair(task, items, std::uint64_t(seeds[b].item<std::int64_t>()), options);
    inputs.push_back(pair.input);
    outputs.push_back(pair.output);
    task_indices.push_back(std::int64_t(task));
    batch.infos.push_back(std::move(pair.info));
  }
  batch.inputs = torch::stack(inputs);
  batch.outputs = torch::stack(outputs);
  batch.tasks = torch::tensor(task_indices, torch::kInt64);
  return batch;
}

torch::Tensor render_text_prompt(const std::string& text, const PromptOptions& options) {
  const int factor = check_size(options, "render_text_prompt");
  check_arg(!text.empty(), "[render_text_prompt] the text is empty");
  // Drawn at the base size and enlarged, exactly like the inputs of class2image and text2image.
  PromptCanvas canvas(kBaseSize, kBaseSize);
  canvas.draw_text_block(text, canvas.ink());
  return enlarge(canvas.tensor(), factor);
}

}  // namespace fi
