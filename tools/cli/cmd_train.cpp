// flowinone train: train a model from a preset or config file into a model directory.
#include <ATen/Parallel.h>

#include <cmath>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "flowinone/core/atomic_file.h"
#include "flowinone/core/errors.h"
#include "flowinone/core/runtime.h"
#include "flowinone/train/checkpoint.h"
#include "flowinone/train/distributed.h"
#include "flowinone/train/trainer.h"
#include "progress_bar.h"

namespace fi::cli {

namespace {

struct TrainFlags {
  std::string preset;
  std::string config_file;
  std::vector<std::string> assignments;
  std::string out;
  std::int64_t seed = -1;
  std::int64_t steps = 0;
  std::string device;
  bool resume = false;
  bool force = false;
  bool json = false;
  double dist_timeout = 300;  // seconds
  double bucket_mb = 25;
};

volatile std::sig_atomic_t g_stop_requested = 0;

extern "C" void request_stop(int) {
  g_stop_requested = 1;
  std::signal(SIGINT, SIG_DFL);  // a second Ctrl-C ends the program at once
}

RunConfig resolve_config(const TrainFlags& flags) {
  check_arg(flags.preset.empty() || flags.config_file.empty(),
            "[train] give --preset or --config, not both");
  RunConfig config;
  if (!flags.preset.empty()) {
    config = load_preset(flags.preset);
  } else if (!flags.config_file.empty()) {
    config = config_from_toml(read_file(flags.config_file, 1 << 20), flags.config_file);
  } else if (flags.resume) {
    config = load_checkpoint(flags.out).config;
  } else {
    throw std::invalid_argument("[train] give --preset NAME or --config FILE (presets: " + [] {
      std::string names;
      for (const auto& name : preset_names()) names += (names.empty() ? "" : ", ") + name;
      return names;
    }() + ")");
  }
  for (const auto& assignment : flags.assignments) apply_config_assignment(config, assignment);
  if (flags.seed >= 0) config.seed = flags.seed;
  if (flags.steps > 0) config.steps = flags.steps;
  if (!flags.device.empty()) config.device = flags.device;
  validate_config(config);
  return config;
}

int run_train(const TrainFlags& flags) {
  const RunConfig config = resolve_config(flags);
  const bool has_model = std::filesystem::exists(flags.out + "/model.safetensors");
  check_arg(!has_model || flags.resume || flags.force, "[--out] ", flags.out,
            " already holds a trained model: add --resume to continue it or --force to overwrite");
  // Launched as one rank of several (WORLD_SIZE set, as by `flowinone launch` or torchrun)?
  DistributedContextPtr distributed;
  const EnvLookup env = process_environment();
  if (distributed_requested(env)) {
    DistributedOptions dist_options = distributed_options_from_env(env);
    dist_options.timeout = std::chrono::milliseconds(
        static_cast<std::int64_t>(std::llround(flags.dist_timeout * 1000.0)));
    distributed = DistributedContext::connect(
        dist_options, device_for_rank(parse_device(config.device), dist_options.local_rank));
  }
  const bool is_main = !distributed || distributed->is_main();
  g_stop_requested = 0;
  std::signal(SIGINT, request_stop);
  std::signal(SIGTERM, request_stop);

  ProgressBar bar(std::max<std::int64_t>(1, config.steps / 20));
  TrainCallbacks callbacks;
  callbacks.report_every = 10;
  callbacks.on_progress = [&](const TrainProgress& p) { bar.update(p); };
  callbacks.should_stop = [] { return g_stop_requested != 0; };
  TrainOptions options;
  options.out_dir = flags.out;
  options.resume = flags.resume;
  options.distributed = distributed;
  options.reducer.bucket_bytes =
      std::max<std::int64_t>(1, static_cast<std::int64_t>(flags.bucket_mb * 1024.0 * 1024.0));
  const TrainResult result = train_model(config, options, callbacks);
  if (is_main) bar.finish();
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  if (!is_main) {
    // Other ranks stay quiet: rank 0 speaks for the run.
  } else if (result.stopped_early) {
    std::cerr << "stopped at step " << result.steps_done << "; checkpoint written to " << flags.out
              << " (continue with --resume)\n";
  } else {
    std::cerr << "trained " << result.steps_done << " steps in " << result.seconds
              << " s; model in " << flags.out << "\n";
  }
  if (flags.json && is_main) {
    const std::int64_t steps_here = result.steps_done - result.first_step;
    nlohmann::json json = {
        {"steps", result.steps_done},
        {"final_loss", result.final_loss},
        {"seconds", result.seconds},
        {"stopped_early", result.stopped_early},
        {"out", flags.out},
        {"world_size", distributed ? distributed->world_size() : 1},
        {"threads", at::get_num_threads()},
        {"steps_per_second", result.seconds > 0 ? steps_here / result.seconds : 0.0}};
    if (distributed) {
      json["backend"] = distributed->backend_name();
      json["global_batch_size"] = config.batch_size * distributed->world_size();
      json["allreduce_seconds_per_step"] =
          steps_here > 0 ? result.communication_seconds / static_cast<double>(steps_here) : 0.0;
    }
    std::cout << json.dump() << std::endl;
  }
  return result.stopped_early ? 130 : 0;  // 130: the conventional status after SIGINT
}

}  // namespace

Command add_train_command(CLI::App& parent) {
  auto flags = std::make_shared<TrainFlags>();
  CLI::App* app = parent.add_subcommand("train", "train a model into a model directory");
  app->add_option("--preset", flags->preset, "named configuration (configs/NAME.toml)");
  app->add_option("--config", flags->config_file, "configuration file (TOML, flat keys)");
  app->add_option("--set", flags->assignments, "override a configuration key: key=value")
      ->take_all();
  app->add_option("--out", flags->out, "model directory to write")->required();
  app->add_option("--seed", flags->seed, "seed of every random draw")
      ->check(CLI::NonNegativeNumber);
  app->add_option("--steps", flags->steps, "optimizer steps")->check(CLI::PositiveNumber);
  app->add_option("--device", flags->device, "auto, cpu, cuda or cuda:N");
  app->add_flag("--resume", flags->resume, "continue from the directory's checkpoint");
  app->add_flag("--force", flags->force, "overwrite a model already in --out");
  app->add_flag("--json", flags->json, "print a JSON summary as the last line");
  app->add_option("--dist-timeout", flags->dist_timeout,
                  "seconds a rank waits for the others (rendezvous, all-reduce) before failing; "
                  "used when WORLD_SIZE is set")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app->add_option("--bucket-mb", flags->bucket_mb,
                  "gradient all-reduce bucket size in MB (distributed runs)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  return {app, [flags] { return run_train(*flags); }};
}

}  // namespace fi::cli
