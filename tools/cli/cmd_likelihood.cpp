// flowinone likelihood: the exact log-likelihood of a trained flow-matching model on held-out
// data, in nats and bits per dimension, and for 2D models a heat map of the model's log-density
// beside the true one when it is known.
//
// The 2D test set is a fresh draw of --n points from the model's target distribution, seeded
// with --seed (training draws from another stream, seeded with the run's seed ^ 0x5eedda7a);
// Hutchinson probes come from a generator seeded with --seed + 1.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "flowinone/core/errors.h"
#include "flowinone/core/random.h"
#include "flowinone/core/runtime.h"
#include "flowinone/data/fashion_mnist.h"
#include "flowinone/data/toy2d.h"
#include "flowinone/io/png.h"
#include "flowinone/solvers/generate.h"
#include "flowinone/solvers/likelihood.h"
#include "flowinone/train/data_spec.h"
#include "flowinone/train/model_dir.h"
#include "flowinone/train/training_data.h"
#include "flowinone/viz/log_density_map.h"
#include "model_run_flags.h"

namespace fi::cli {

namespace {

struct LikelihoodFlags {
  ModelRunFlags run;
  std::string split = "test";
  std::string estimator = "exact";
  std::string probe = "rademacher";
  std::int64_t probes = 1;
  std::string out_image;  // empty: MODEL/likelihood.png
  bool no_image = false;
  int grid = 64;
  bool json = false;
};

// How many nats below the highest log-density the heat maps' color scale reaches.
constexpr double kHeatMapRangeNats = 8.0;

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string fixed(double value, int digits) {
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", digits, value);
  return text;
}

// log p of points (N, D) under the model, in nats, with the velocity evaluations it took (0 for
// a normalizing flow, whose density is one forward pass).
using LogDensityFn = std::function<LogDensity(const torch::Tensor& points)>;

LogDensityFn model_log_density(const LoadedModel& loaded, const LikelihoodOptions& options) {
  if (loaded.flow) {
    const FlowPtr flow = loaded.flow;
    return [flow](const torch::Tensor& points) {
      torch::NoGradGuard no_grad;
      LogDensity density;
      std::vector<torch::Tensor> parts;
      for (const torch::Tensor& chunk : points.split(4096)) {
        parts.push_back(flow->log_prob(chunk).to(torch::kFloat64));
      }
      density.log_p = torch::cat(parts);
      return density;
    };
  }
  const VelocityFn velocity = differentiable_model_velocity(loaded.model);
  return [velocity, options](const torch::Tensor& points) {
    return log_likelihood(velocity, points, options);
  };
}

// The model's log-density on the plot grid beside the true one (when the target's density is
// known); returns the number of velocity evaluations spent.
std::int64_t write_heat_map(const std::string& path, const LogDensityFn& log_density,
                            const RunConfig& config, int grid_size, const c10::Device& device,
                            const std::string& caption) {
  const PlotOptions plot;
  const torch::Tensor grid = log_density_grid(grid_size, plot.extent);
  const LogDensity model = log_density(grid.to(device));
  const auto dataset = make_toy2d(config.target);
  const auto* checkerboard = dynamic_cast<const Checkerboard*>(dataset.get());
  torch::Tensor truth;
  double high = model.log_p.max().item<double>();
  if (checkerboard != nullptr) {
    truth = checkerboard->density(grid).log();
    high = std::max(high, truth.max().item<double>());
  }
  const double low = high - kHeatMapRangeNats;
  std::vector<Image> images = {log_density_image(model.log_p, grid_size, low, high, plot)};
  std::vector<std::string> titles = {"model log p"};
  if (truth.defined()) {
    images.push_back(log_density_image(truth, grid_size, low, high, plot));
    titles.push_back("true log p");
  }
  write_png(path, side_by_side(images, titles),
            {{"flowinone", caption + " colors: log p from " + fixed(low, 2) + " (dark) to " +
                               fixed(high, 2) + " (yellow) nats"}});
  return model.nfe;
}

// The JSON fields common to every likelihood figure: the summary, the estimator and the solver.
nlohmann::json likelihood_json(const LikelihoodResult& result, const LikelihoodOptions& options,
                               const RunConfig& config, const std::string& split, bool is_flow) {
  nlohmann::json json;
  json["nll_nats"] = result.nll_nats;
  json["nll_stderr"] = result.nll_stderr;
  json["bits_per_dim"] = result.bits_per_dim;
  json["bits_per_dim_stderr"] = result.bits_per_dim_stderr;
  json["count"] = result.count;
  json["dim"] = result.dim;
  json["split"] = split;
  json["model"] = config.model;
  json["target"] = config.target;
  json["estimator"] = is_flow ? "change-of-variables" : to_string(options.estimator);
  if (!is_flow) {
    if (options.estimator == DivergenceEstimator::kHutchinson) {
      json["probes"] = options.num_probes;
      json["probe"] = to_string(options.probe);
    }
    add_solver_fields(json, options.solve, result.nfe);
  } else {
    json["nfe"] = 0;
  }
  return json;
}

// Image models: bits/dim of 8-bit pictures of the split, uniformly dequantized. Flows dequantize
// inside (their log_prob is on the 8-bit scale already); for velocity models the pictures get
// u / 127.5 with u ~ U[0, 1) here and the density is rescaled from [-1, 1] to the 8-bit scale.
// A class-conditional velocity model is scored unconditionally (the null class): p(x), as a flow
// without classes would be.
void run_image_likelihood(const LikelihoodFlags& flags, const LoadedModel& loaded,
                          LikelihoodOptions options, const c10::Device& device) {
  const RunConfig& config = loaded.config;
  check_arg(!is_image_pairs(config), "[likelihood] ", flags.run.model,
            " translates pictures; its likelihood is not of the data but of outputs given inputs");
  const Split split = parse_split(flags.split);
  const auto dataset = open_image_dataset(config, split);
  const std::int64_t n = std::min<std::int64_t>(flags.run.n, dataset->size());
  const ImageBatch batch = first_examples(*dataset, n);
  at::Generator generator = make_generator(static_cast<std::uint64_t>(flags.run.seed));
  const auto start = std::chrono::steady_clock::now();
  LikelihoodResult result;
  const bool is_flow = loaded.flow != nullptr;
  if (is_flow) {
    loaded.flow->set_dequantization_generator(generator);
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> parts;
    const torch::Tensor images = batch.images.to(device);
    const torch::Tensor labels = config.num_classes > 0 ? batch.labels.to(device) : torch::Tensor();
    for (std::int64_t first = 0; first < n; first += 500) {
      const std::int64_t size = std::min<std::int64_t>(500, n - first);
      parts.push_back(loaded.flow
                          ->log_prob(images.narrow(0, first, size),
                                     labels.defined() ? labels.narrow(0, first, size) : labels)
                          .to(torch::kFloat64));
    }
    result = summarize_log_density(torch::cat(parts), batch.images[0].numel(), 0.0);
  } else {
    check_likelihood_source(config);
    const torch::Tensor noise = torch::rand(batch.images.sizes(), generator);
    options.batch_size = 100;
    const LikelihoodResult model_space =
        evaluate_likelihood(differentiable_model_velocity(loaded.model),
                            (batch.images + noise / 127.5).to(device), options);
    // The density on the 8-bit scale, as the flows report it (their Dequantize layer counts the
    // scaling): nll_nats is then bits_per_dim * D ln 2 for both families.
    const std::int64_t dim = batch.images[0].numel();
    result = summarize_log_density(model_space.log_p - dim * std::log(127.5), dim, 0.0);
    result.nfe = model_space.nfe;
  }
  const double seconds = seconds_since(start);
  nlohmann::json json = likelihood_json(result, options, config, flags.split, is_flow);
  json["dequantization"] = "uniform, 8-bit";
  json["seconds"] = seconds;
  std::cout << flags.split << " NLL " << fixed(result.nll_nats, 2) << " +- "
            << fixed(result.nll_stderr, 2) << " nats per picture, " << fixed(result.bits_per_dim, 4)
            << " +- " << fixed(result.bits_per_dim_stderr, 4) << " bits/dim over " << result.count
            << " pictures (" << fixed(seconds, 1) << " s)\n";
  if (flags.json) std::cout << json.dump() << std::endl;
}

void run_likelihood(const LikelihoodFlags& flags) {
  LikelihoodOptions options;
  options.estimator = parse_divergence_estimator(flags.estimator);
  options.probe = parse_probe_kind(flags.probe);
  options.num_probes = flags.probes;
  options.seed = static_cast<std::uint64_t>(flags.run.seed) + 1;
  const c10::Device device = parse_device(flags.run.device);
  LoadedModel loaded = load_model_dir(flags.run.model, device);
  if (is_image_data(loaded.config)) {
    options.solve = make_solve_options(flags.run.solver, loaded.config);
    return run_image_likelihood(flags, loaded, options, device);
  }
  check_arg(flags.split == "test", "[--split] '", flags.split,
            "': 2D models are scored on a fresh draw from their target, the split 'test'");
  if (!loaded.flow) check_likelihood_source(loaded.config);
  options.solve = make_solve_options(flags.run.solver, loaded.config);
  const bool is_flow = loaded.flow != nullptr;

  const torch::Tensor data =
      sample_target(loaded.config, flags.run.n, static_cast<std::uint64_t>(flags.run.seed))
          .to(device);
  const auto start = std::chrono::steady_clock::now();
  const LikelihoodResult result =
      is_flow ? summarize_log_density(model_log_density(loaded, options)(data).log_p,
                                      data[0].numel(), options.log_scale_per_dim)
              : evaluate_likelihood(differentiable_model_velocity(loaded.model), data, options);
  const double seconds = seconds_since(start);

  nlohmann::json json = likelihood_json(result, options, loaded.config, flags.split, is_flow);
  json["seconds"] = seconds;
  const auto dataset = make_toy2d(loaded.config.target);
  if (const auto* checkerboard = dynamic_cast<const Checkerboard*>(dataset.get())) {
    json["true_entropy_nats"] = checkerboard->entropy();
  }

  std::cout << "test NLL " << fixed(result.nll_nats, 4) << " +- " << fixed(result.nll_stderr, 4)
            << " nats (" << fixed(result.bits_per_dim, 4) << " bits/dim) over " << result.count
            << " points; ";
  if (is_flow) {
    std::cout << "normalizing flow (" << loaded.config.model << "), change of variables, "
              << fixed(seconds, 2) << " s\n";
  } else {
    std::cout << to_string(options.estimator)
              << (options.estimator == DivergenceEstimator::kHutchinson
                      ? " (" + std::to_string(options.num_probes) + " " + to_string(options.probe) +
                            " probes)"
                      : std::string())
              << " divergence, " << to_string(options.solve.solver) << ", " << result.nfe
              << " function evaluations, " << fixed(seconds, 2) << " s\n";
  }
  if (json.contains("true_entropy_nats")) {
    const double entropy = json["true_entropy_nats"].get<double>();
    std::cout << "true differential entropy " << fixed(entropy, 4) << " nats: the model is "
              << fixed(result.nll_nats - entropy, 4) << " nats above it (its KL divergence from "
              << "the data, up to the error bars)\n";
  }
  if (!flags.no_image && result.dim == 2) {
    const std::string path =
        flags.out_image.empty() ? flags.run.model + "/likelihood.png" : flags.out_image;
    const auto map_start = std::chrono::steady_clock::now();
    LikelihoodOptions map_options = options;
    map_options.estimator = DivergenceEstimator::kExact;  // 2D: exact is cheap and noise-free
    const std::int64_t nfe = write_heat_map(
        path, model_log_density(loaded, map_options), loaded.config, flags.grid, device,
        "model=" + flags.run.model +
            (is_flow ? std::string() : " solver=" + to_string(options.solve.solver)));
    std::cout << "wrote " << path << " (log-density on a " << flags.grid << "x" << flags.grid
              << " grid, " << nfe << " function evaluations, " << fixed(seconds_since(map_start), 2)
              << " s)\n";
    json["image"] = path;
  }
  if (flags.json) std::cout << json.dump() << std::endl;
}

}  // namespace

Command add_likelihood_command(CLI::App& parent) {
  auto flags = std::make_shared<LikelihoodFlags>();
  flags->run.n = 5000;
  flags->run.solver.solver = "dopri5";
  CLI::App* app = parent.add_subcommand(
      "likelihood", "exact log-likelihood (NLL, bits/dim) of a model on test data");
  add_model_run_flags(*app, flags->run, "number of test points");
  app->add_option("--split", flags->split, "data split to score (2D: test, a fresh draw)")
      ->capture_default_str();
  app->add_option("--estimator", flags->estimator, "divergence: exact or hutchinson")
      ->capture_default_str();
  app->add_option("--probes", flags->probes, "hutchinson probes per point")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{100000}))
      ->capture_default_str();
  app->add_option("--probe", flags->probe, "hutchinson probe distribution: rademacher or gaussian")
      ->capture_default_str();
  app->add_option("--out-image", flags->out_image,
                  "2D: heat map of the model's log-density (default: MODEL/likelihood.png)");
  app->add_flag("--no-image", flags->no_image, "2D: skip the heat map");
  app->add_option("--grid", flags->grid, "2D: heat-map grid cells per side")
      ->check(CLI::Range(2, 1024))
      ->capture_default_str();
  app->add_flag("--json", flags->json, "print one JSON object as the last line");
  return {app, [flags] { run_likelihood(*flags); }};
}

}  // namespace fi::cli
