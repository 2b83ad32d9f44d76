// flowinone bench: speed figures printed as JSON, medians of repeats after a warm-up.
//   train2d   optimizer steps per second of the default 2D model (checkerboard preset), batch 256
//   sample2d  seconds to integrate 10,000 points with 100 Euler steps
//   allreduce seconds per all-reduce of the default 2D model's gradients (run under `launch`)
//   train-unet  training images/s of the `fmnist` UNet, batch 128 of 1x28x28, class-conditional
//   sample-unet images/s generating 64 class-conditional 1x28x28 images with 100 Euler steps
//   serve     `flowinone serve` on --model DIR under --requests from --clients threads, a share
//             of them hostile (tools/server/load_test.h)
// --load N measures twice, quiet and then beside N busy single-threaded processes (busy_load.h),
// and prints both. --set key=value changes the 2D benchmarks' configuration (checkerboard preset).
#include <algorithm>
#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "busy_load.h"
#include "commands.h"
#include "flowinone/core/errors.h"
#include "flowinone/core/random.h"
#include "flowinone/core/runtime.h"
#include "flowinone/generative/guidance.h"
#include "flowinone/generative/model_registry.h"
#include "flowinone/models/unet.h"
#include "flowinone/train/adamw.h"
#include "flowinone/train/distributed.h"
#include "flowinone/train/trainer.h"
#ifdef FLOWINONE_HAVE_SERVER
#include "load_test.h"
#endif

namespace fi::cli {

namespace {

using Clock = std::chrono::steady_clock;

struct BenchFlags {
  std::string name;
  int repeats = 5;
  std::string device = "auto";
  bool json = false;
  int load = 0;                   // busy processes beside the second measurement
  std::vector<std::string> sets;  // train2d, sample2d: configuration changes
  // serve
  std::string model_dir;
  int requests = 1000;
  int clients = 16;
  double bad_share = 0.3;
  int batch_requests = 64;
  int steps = 0;
  int server_threads = 0;
  bool merge_images = false;
};

nlohmann::json bench_serve(const BenchFlags& flags) {
#ifdef FLOWINONE_HAVE_SERVER
  check_arg(!flags.model_dir.empty(), "[bench serve] give the model to serve: --model DIR");
  server::LoadTestOptions options;
  options.program = "/proc/self/exe";
  options.model_dir = flags.model_dir;
  options.requests = flags.requests;
  options.clients = flags.clients;
  options.bad_share = flags.bad_share;
  options.batch_requests = flags.batch_requests;
  options.steps = flags.steps;
  options.server_threads = flags.server_threads;
  options.merge_images = flags.merge_images;
  return server::run_load_test(options);
#else
  check_arg(false, "[bench serve] this build has no HTTP server (cpp-httplib was not found)");
  return {};
#endif
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

void synchronize(const c10::Device& device, const torch::Tensor& value) {
  if (device.is_cuda()) (void)value.sum().item<double>();  // waits for the queued kernels
}

// The checkerboard preset with --set applied.
RunConfig bench_config(const BenchFlags& flags, std::int64_t batch_size) {
  RunConfig config = load_preset("checkerboard");
  config.batch_size = batch_size;
  for (const std::string& assignment : flags.sets) apply_config_assignment(config, assignment);
  validate_config(config);
  return config;
}

nlohmann::json bench_train2d(const BenchFlags& flags, const c10::Device& device) {
  const RunConfig config = bench_config(flags, 256);
  Trainer trainer(config, device);
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
          {"shards", config.shards},
          {"coupling", config.coupling},
          {"steps_per_repeat", kStepsPerRepeat},
          {"all_steps_per_second", rates}};
}

nlohmann::json bench_sample2d(const BenchFlags& flags, const c10::Device& device) {
  const RunConfig config = bench_config(flags, 256);
  seed_global(0);
  const GenerativeModelPtr model = build_generative_model(config);
  model->module().to(device);
  model->module().eval();
  constexpr std::int64_t kPoints = 10000;
  auto generate = [&](std::uint64_t seed) {
    GenerationOptions options;
    options.solve.solver = SolverKind::kEuler;
    options.solve.num_steps = 100;
    options.seed = seed;
    return model->sample(kPoints, torch::Tensor(), options).x;
  };
  synchronize(device, generate(0));  // warm-up
  std::vector<double> seconds;
  for (int r = 0; r < flags.repeats; ++r) {
    const auto start = Clock::now();
    synchronize(device, generate(static_cast<std::uint64_t>(r + 1)));
    seconds.push_back(std::chrono::duration<double>(Clock::now() - start).count());
  }
  return {{"seconds", median(seconds)},
          {"width", config.width},
          {"points", kPoints},
          {"euler_steps", 100},
          {"all_seconds", seconds}};
}

// Each repeat: a barrier, then 100 back-to-back all-reduces of one flat float32 buffer the size of
// the default 2D model's parameters (what GradientReducer sends per step, one bucket).
nlohmann::json bench_allreduce(const BenchFlags& flags, const c10::Device& device) {
  const EnvLookup env = process_environment();
  check_arg(distributed_requested(env),
            "[bench allreduce] run it as several ranks: flowinone launch --nproc 2 -- bench "
            "allreduce --json");
  const DistributedContextPtr context =
      DistributedContext::connect(distributed_options_from_env(env), device);
  RunConfig config = load_preset("checkerboard");
  std::int64_t numel = 0;
  for (const auto& p : build_velocity_network(config)->parameters()) numel += p.numel();
  torch::Tensor buffer = torch::ones({numel}, torch::TensorOptions().device(device));
  constexpr int kPerRepeat = 100;
  for (int i = 0; i < 20; ++i) context->all_reduce_sum(buffer);  // warm-up
  std::vector<double> seconds;
  for (int r = 0; r < flags.repeats; ++r) {
    context->barrier();
    const auto start = Clock::now();
    for (int i = 0; i < kPerRepeat; ++i) context->all_reduce_sum(buffer);
    seconds.push_back(std::chrono::duration<double>(Clock::now() - start).count() / kPerRepeat);
  }
  if (!context->is_main()) return nlohmann::json();  // rank 0 reports
  return {{"seconds_per_allreduce", median(seconds)},
          {"numel", numel},
          {"bytes", numel * 4},
          {"world_size", context->world_size()},
          {"backend", context->backend_name()},
          {"all_seconds_per_allreduce", seconds}};
}

// The image model's training step: a straight-path flow-matching loss on (128, 1, 28, 28) images
// with class labels, backward, gradient clipping and an AdamW step. The pixels are random: the
// speed does not depend on them, and the benchmark then needs no data files.
nlohmann::json bench_train_unet(const BenchFlags& flags, const c10::Device& device) {
  constexpr std::int64_t kBatch = 128;
  constexpr int kStepsPerRepeat = 2;
  seed_global(0);
  auto model = std::make_shared<UNetVelocity>(unet_preset("fmnist"));
  model->to(device);
  model->train();
  std::vector<torch::Tensor> parameters = model->parameters();
  Adam optimizer(parameters, AdamOptions{0.9, 0.999, 1e-8, 0.0, true});
  at::Generator generator = make_generator(1);
  auto step = [&] {
    const torch::Tensor x1 = (torch::rand({kBatch, 1, 28, 28}, generator) * 2 - 1).to(device);
    const torch::Tensor x0 = torch::randn({kBatch, 1, 28, 28}, generator).to(device);
    const torch::Tensor t = torch::rand({kBatch}, generator).to(device);
    Conditioning cond;
    cond.labels = torch::randint(0, 10, {kBatch}, generator).to(device);
    const torch::Tensor tt = t.view({kBatch, 1, 1, 1});
    const torch::Tensor xt = (1 - tt) * x0 + tt * x1;
    const torch::Tensor loss = (model->forward(xt, t, cond) - (x1 - x0)).pow(2).mean();
    optimizer.zero_grad();
    loss.backward();
    clip_grad_norm(parameters, 1.0);
    optimizer.step(1e-4);
    return loss.detach();
  };
  synchronize(device, step());  // warm-up
  std::vector<double> rates;
  for (int r = 0; r < flags.repeats; ++r) {
    const auto start = Clock::now();
    torch::Tensor loss;
    for (int i = 0; i < kStepsPerRepeat; ++i) loss = step();
    synchronize(device, loss);
    rates.push_back(kBatch * kStepsPerRepeat /
                    std::chrono::duration<double>(Clock::now() - start).count());
  }
  return {{"images_per_second", median(rates)},
          {"batch_size", kBatch},
          {"preset", "fmnist"},
          {"parameters", count_parameters(*model)},
          {"steps_per_repeat", kStepsPerRepeat},
          {"all_images_per_second", rates}};
}

nlohmann::json bench_sample_unet(const BenchFlags& flags, const c10::Device& device) {
  constexpr std::int64_t kImages = 64;
  seed_global(0);
  auto model = std::make_shared<UNetVelocity>(unet_preset("fmnist"));
  model->to(device);
  model->eval();
  torch::NoGradGuard no_grad;
  Conditioning cond;
  cond.labels = torch::arange(kImages, torch::kInt64).remainder(10).to(device);
  const VelocityFn velocity = conditional_velocity(model, cond);
  SolveOptions options;
  options.solver = SolverKind::kEuler;
  options.num_steps = 100;
  at::Generator generator = make_generator(1);
  auto generate_images = [&] {
    const torch::Tensor x0 = torch::randn({kImages, 1, 28, 28}, generator).to(device);
    return solve_ode(velocity, x0, options).x;
  };
  synchronize(device, generate_images());  // warm-up
  std::vector<double> rates;
  for (int r = 0; r < flags.repeats; ++r) {
    const auto start = Clock::now();
    synchronize(device, generate_images());
    rates.push_back(kImages / std::chrono::duration<double>(Clock::now() - start).count());
  }
  return {{"images_per_second", median(rates)},
          {"images", kImages},
          {"euler_steps", 100},
          {"preset", "fmnist"},
          {"all_images_per_second", rates}};
}

nlohmann::json measure(const BenchFlags& flags, const c10::Device& device) {
  nlohmann::json result;
  if (flags.name == "allreduce") {
    result = bench_allreduce(flags, device);
  } else if (flags.name == "train2d") {
    result = bench_train2d(flags, device);
  } else if (flags.name == "sample2d") {
    result = bench_sample2d(flags, device);
  } else if (flags.name == "train-unet") {
    result = bench_train_unet(flags, device);
  } else if (flags.name == "sample-unet") {
    result = bench_sample_unet(flags, device);
  } else if (flags.name == "serve") {
    result = bench_serve(flags);
  } else {
    throw std::invalid_argument("[bench] unknown benchmark '" + flags.name +
                                "' (valid: train2d, sample2d, allreduce, train-unet, "
                                "sample-unet, serve)");
  }
  return result;
}

void run_bench(const BenchFlags& flags) {
  const c10::Device device = parse_device(flags.device);
  check_arg(flags.sets.empty() || flags.name == "train2d" || flags.name == "sample2d",
            "[bench] --set applies to train2d and sample2d only");
  check_arg(flags.load == 0 || (flags.name != "allreduce" && flags.name != "serve"),
            "[bench] --load applies to train2d, sample2d, train-unet and sample-unet");
  nlohmann::json result;
  if (flags.load > 0) {
    result["quiet"] = measure(flags, device);
    BusyLoad load(flags.load);
    result["loaded"] = measure(flags, device);
    result["load_processes"] = flags.load;
  } else {
    result = measure(flags, device);
  }
  if (result.is_null()) return;  // a rank other than 0 of allreduce: rank 0 reports
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
  CLI::App* app =
      parent.add_subcommand("bench", "speed benchmarks (train2d, sample2d, allreduce, serve)");
  app->add_option("name", flags->name,
                  "train2d, sample2d, train-unet, sample-unet, serve, or allreduce (under launch)")
      ->required();
  app->add_option("--model", flags->model_dir, "serve: the model directory to serve");
  app->add_option("--requests", flags->requests, "serve: requests of the mixed phase")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  app->add_option("--clients", flags->clients, "serve: concurrent client threads")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  app->add_option("--bad-share", flags->bad_share, "serve: share of hostile requests")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  app->add_option("--batch-requests", flags->batch_requests,
                  "serve: good requests per batching measurement (1 client, then --clients)")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  app->add_option("--steps", flags->steps, "serve: solver steps of good requests (0: default)")
      ->check(CLI::Range(0, 100000))
      ->capture_default_str();
  app->add_option("--server-threads", flags->server_threads,
                  "serve: the server's --threads (0: its default)")
      ->check(CLI::Range(0, 1024))
      ->capture_default_str();
  app->add_flag("--merge-images", flags->merge_images,
                "serve: start the server with --merge-images (picture requests share solves)");
  app->add_option("--load", flags->load,
                  "measure quiet, then beside this many busy single-threaded processes")
      ->check(CLI::Range(0, 256))
      ->capture_default_str();
  app->add_option("--set", flags->sets,
                  "train2d, sample2d: key=value over the checkerboard preset");
  app->add_option("--repeats", flags->repeats, "timed repeats (the median is reported)")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  app->add_option("--device", flags->device, "auto, cpu, cuda or cuda:N")->capture_default_str();
  app->add_flag("--json", flags->json, "print one JSON object as the last line");
  return {app, [flags] {
            run_bench(*flags);
            return 0;
          }};
}

}  // namespace fi::cli
