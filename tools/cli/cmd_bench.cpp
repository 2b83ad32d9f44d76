// flowinone bench: speed figures printed as JSON, medians of repeats after a warm-up.
//   train2d   optimizer steps per second of the default 2D model (checkerboard preset), batch 256
//   sample2d  seconds to integrate 10,000 points with 100 Euler steps
#include <algorithm>
#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "flowinone/core/errors.h"
#include "flowinone/core/random.h"
#include "flowinone/core/runtime.h"
#include "flowinone/solvers/generate.h"
#include "flowinone/train/model_dir.h"
#include "flowinone/train/trainer.h"

namespace fi::cli {

namespace {

using Clock = std::chrono::steady_clock;

struct BenchFlags {
  std::string name;
  int repeats = 5;
  std::string device = "auto";
  bool json = false;
};

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

void synchronize(const c10::Device& device, const torch::Tensor& value) {
  if (device.is_cuda()) (void)value.sum().item<double>();  // waits for the queued kernels
}

nlohmann::json bench_train2d(const BenchFlags& flags, const c10::Device& device) {
  RunConfig config = load_preset("checkerboard");
  config.batch_size = 256;
  FlowMatchingTrainer trainer(config, device);
  constexpr int kWarmup = 50, kStepsPerRepeat = 200;
  torch::Tensor loss;
  for (int i = 0; i < kWarmup; ++i) loss = trainer.step();
  synchronize(device, loss);
  std::vector<double> rates;
  for (int r = 0; r < flags.repeats; ++r) {
    const auto start = Clock::now();
    for (int i = 0; i < kStepsPerRepeat; ++i) loss = trainer.step();
    synchronize(device, loss);
    rates.push_back(kStepsPerRepeat / std::chrono::duration<double>(Clock::now() - start).count());
  }
  return {{"steps_per_second", median(rates)},
          {"batch_size", config.batch_size},
          {"width", config.width},
          {"depth", config.depth},
          {"steps_per_repeat", kStepsPerRepeat},
          {"all_steps_per_second", rates}};
}

nlohmann::json bench_sample2d(const BenchFlags& flags, const c10::Device& device) {
  RunConfig config = load_preset("checkerboard");
  seed_global(0);
  VelocityModelPtr model = build_model(config);
  model->to(device);
  model->eval();
  SolveOptions options;
  options.solver = SolverKind::kEuler;
  options.num_steps = 100;
  constexpr std::int64_t kPoints = 10000;
  synchronize(device, generate(model, config, kPoints, 0, options, device).x);  // warm-up
  std::vector<double> seconds;
  for (int r = 0; r < flags.repeats; ++r) {
    const auto start = Clock::now();
    synchronize(device, generate(model, config, kPoints, r + 1, options, device).x);
    seconds.push_back(std::chrono::duration<double>(Clock::now() - start).count());
  }
  return {{"seconds", median(seconds)},
          {"points", kPoints},
          {"euler_steps", 100},
          {"all_seconds", seconds}};
}

void run_bench(const BenchFlags& flags) {
  const c10::Device device = parse_device(flags.device);
  nlohmann::json result;
  if (flags.name == "train2d") {
    result = bench_train2d(flags, device);
  } else if (flags.name == "sample2d") {
    result = bench_sample2d(flags, device);
  } else {
    throw std::invalid_argument("[bench] unknown benchmark '" + flags.name +
                                "' (valid: train2d, sample2d)");
  }
  result["benchmark"] = flags.name;
  result["device"] = device.str();
  result["threads"] = at::get_num_threads();
  result["repeats"] = flags.repeats;
  result["runtime"] = runtime_description();
  std::cout << (flags.json ? result.dump() : result.dump(2)) << std::endl;
}

}  // namespace

Command add_bench_command(CLI::App& parent) {
  auto flags = std::make_shared<BenchFlags>();
  CLI::App* app = parent.add_subcommand("bench", "speed benchmarks (train2d, sample2d)");
  app->add_option("name", flags->name, "train2d or sample2d")->required();
  app->add_option("--repeats", flags->repeats, "timed repeats (the median is reported)")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  app->add_option("--device", flags->device, "auto, cpu, cuda or cuda:N")->capture_default_str();
  app->add_flag("--json", flags->json, "print one JSON object as the last line");
  return {app, [flags] { run_bench(*flags); }};
}

}  // namespace fi::cli
