#include "playground_training.h"

#include <cmath>
#include <stdexcept>

#include "flowinone/couplings/coupling.h"
#include "flowinone/data/toy2d.h"
#include "flowinone/paths/path.h"
#include "flowinone/train/trainer.h"
#include "request_fields.h"

namespace fi::server {

using nlohmann::json;

RunConfig playground_config(const json& request, const PlaygroundLimits& limits) {
  RunConfig config = load_preset("checkerboard");
  auto toy = [&](const char* field, const std::string& fallback) {
    const std::string name = string_field(request, field, fallback, 64);
    try {
      (void)make_toy2d(name);
    } catch (const std::invalid_argument& error) {
      throw bad_field(field, error.what());
    }
    return name;
  };
  config.source = toy("source", "gaussian");
  config.target = toy("target", "checkerboard");
  config.coupling = to_string(parsed_field(request, "coupling", "independent", parse_coupling));
  config.path = to_string(parsed_field(request, "path", "straight", parse_path));
  config.sigma = number_field(request, "sigma", 0.0, 0.0, 2.0);
  config.width = int_field(request, "width", 64, 8, limits.max_width);
  config.depth = int_field(request, "depth", 3, 1, limits.max_depth);
  config.steps = int_field(request, "steps", 500, 1, limits.max_steps);
  config.batch_size = int_field(request, "batch_size", 256, 16, limits.max_batch_size);
  config.lr = number_field(request, "lr", 5e-3, 1e-6, 1.0);
  config.seed = int_field(request, "seed", 0, 0, std::numeric_limits<std::int32_t>::max());
  config.warmup_steps = std::min<std::int64_t>(config.warmup_steps, config.steps / 10);
  config.shards = 1;  // the server runs several solves at once: no thread fan-out of its own
  config.device = "cpu";
  // A source that is not Gaussian has no closed-form density: the model then samples but does
  // not score, which the playground does not need.
  try {
    validate_config(config);
  } catch (const std::invalid_argument& error) {
    throw bad_field("config", error.what());
  }
  return config;
}

PlaygroundModel train_playground(const RunConfig& config, JobControl& control,
                                 std::int64_t report_every) {
  Trainer trainer(config, c10::Device(c10::kCPU));
  double sum = 0, final_loss = 0;
  std::int64_t count = 0;
  control.progress(0, config.steps);
  for (std::int64_t step = 1; step <= config.steps; ++step) {
    control.check_cancelled();
    const double loss = trainer.step().item<double>();
    if (!std::isfinite(loss)) {
      throw std::runtime_error("training diverged at step " + std::to_string(step) + " (loss " +
                               std::to_string(loss) + "): try a smaller lr");
    }
    sum += loss;
    ++count;
    if (step % report_every == 0 || step == config.steps) {
      final_loss = sum / static_cast<double>(count);
      control.loss(step, final_loss);
      sum = 0;
      count = 0;
    }
    control.progress(step, config.steps);
  }
  return {trainer.averaged_model(), final_loss};
}

}  // namespace fi::server
