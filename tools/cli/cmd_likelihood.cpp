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
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "flowinone/core/errors.h"
#include "flowinone/core/runtime.h"
#include "flowinone/data/fashion_mnist.h"
#include "flowinone/data/toy2d.h"
#include "flowinone/generative/generate.h"
#include "flowinone/generative/model_dir.h"
#include "flowinone/io/png.h"
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

// The model's log-density on the plot grid beside the true one (when the target's density is
// known); returns the number of velocity evaluations spent.
std::int64_t write_heat_map(const std::string& path, GenerativeModel& model,
                            const ScoringOptions& scoring, int grid_size,
                            const std::string& caption) {
  const PlotOptions plot;
  const torch::Tensor grid = log_density_grid(grid_size, plot.extent);
  const LogDensity density = model.log_prob(grid, torch::Tensor(), scoring);
  const auto dataset = make_toy2d(model.config().target);
  const auto* checkerboard = dynamic_cast<const Checkerboard*>(dataset.get());
  torch::Tensor truth;
  double high = density.log_p.max().item<double>();
  if (checkerboard != nullptr) {
    truth = checkerboard->density(grid).log();
    high = std::max(high, truth.max().item<double>());
  }
  const double low = high - kHeatMapRangeNats;
  std::vector<Image> images = {log_density_image(density.log_p, grid_size, low, high, plot)};
  std::vector<std::string> titles = {"model log p"};
  if (truth.defined()) {
    images.push_back(log_density_image(truth, grid_size, low, high, plot));
    titles.push_back("true log p");
  }
  write_png(path, side_by_side(images, titles),
            {{"flowinone", caption + " colors: log p from " + fixed(low, 2) + " (dark) to " +
                               fixed(high, 2) + " (yellow) nats"}});
  return density.nfe;
}

// The JSON fields common to every likelihood figure: the summary, the estimator and the solver.
nlohmann::json likelihood_json(const LikelihoodResult& result, const LikelihoodOptions& options,
                               const ModelInfo& info, const RunConfig& config,
                               const std::string& split) {
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
  json["estimator"] = info.integrates ? to_string(options.estimator) : "change-of-variables";
  if (info.integrates) {
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

// The scored points: 8-bit pictures of the split (dequantized by the model, on the 8-bit scale),
// or for 2D models a fresh draw of --n points from the target.
struct TestData {
  torch::Tensor x;       // (N, ...)
  torch::Tensor labels;  // (N) for class-conditional flows, else undefined
};

TestData test_data(const LikelihoodFlags& flags, const ModelInfo& info, const RunConfig& config) {
  if (!info.is_image) {
    check_arg(flags.split == "test", "[--split] '", flags.split,
              "': 2D models are scored on a fresh draw from their target, the split 'test'");
    return {sample_target(config, flags.run.n, static_cast<std::uint64_t>(flags.run.seed)), {}};
  }
  check_arg(!info.translates, "[likelihood] ", flags.run.model,
            " translates pictures; its likelihood is not of the data but of outputs given inputs");
  const auto dataset = open_image_dataset(config, parse_split(flags.split));
  const ImageBatch batch =
      first_examples(*dataset, std::min<std::int64_t>(flags.run.n, dataset->size()));
  return {batch.images, info.num_classes > 0 ? batch.labels : torch::Tensor()};
}

void run_likelihood(const LikelihoodFlags& flags) {
  // Checked before any work: the picture must never replace the model's files.
  if (!flags.out_image.empty()) check_png_path("--out-image", flags.out_image);
  LoadedModel loaded = load_model_dir(flags.run.model, parse_device(flags.run.device));
  GenerativeModel& model = *loaded.model;
  const ModelInfo info = model.describe();
  ScoringOptions scoring;
  LikelihoodOptions& options = scoring.likelihood;
  options.estimator = parse_divergence_estimator(flags.estimator);
  options.probe = parse_probe_kind(flags.probe);
  options.num_probes = flags.probes;
  options.seed = static_cast<std::uint64_t>(flags.run.seed) + 1;
  options.solve = make_solve_options(flags.run.solver, loaded.config);
  scoring.seed = static_cast<std::uint64_t>(flags.run.seed);
  const TestData data = test_data(flags, info, loaded.config);

  const auto start = std::chrono::steady_clock::now();
  const LogDensity density = model.log_prob(data.x, data.labels, scoring);
  LikelihoodResult result = summarize_log_density(density.log_p, data.x[0].numel(), 0.0);
  result.nfe = density.nfe;
  const double seconds = seconds_since(start);

  nlohmann::json json = likelihood_json(result, options, info, loaded.config, flags.split);
  json["seconds"] = seconds;
  if (info.is_image) {
    json["dequantization"] = "uniform, 8-bit";
    std::cout << flags.split << " NLL " << fixed(result.nll_nats, 2) << " +- "
              << fixed(result.nll_stderr, 2) << " nats per picture, "
              << fixed(result.bits_per_dim, 4) << " +- " << fixed(result.bits_per_dim_stderr, 4)
              << " bits/dim over " << result.count << " pictures (" << fixed(seconds, 1) << " s)\n";
    if (flags.json) std::cout << json.dump() << std::endl;
    return;
  }
  const auto dataset = make_toy2d(loaded.config.target);
  if (const auto* checkerboard = dynamic_cast<const Checkerboard*>(dataset.get())) {
    json["true_entropy_nats"] = checkerboard->entropy();
  }

  std::cout << "test NLL " << fixed(result.nll_nats, 4) << " +- " << fixed(result.nll_stderr, 4)
            << " nats (" << fixed(result.bits_per_dim, 4) << " bits/dim) over " << result.count
            << " points; ";
  if (!info.integrates) {
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
  if (!flags.no_image) {
    const std::string path =
        flags.out_image.empty() ? flags.run.model + "/likelihood.png" : flags.out_image;
    const auto map_start = std::chrono::steady_clock::now();
    ScoringOptions map_scoring = scoring;
    map_scoring.likelihood.estimator = DivergenceEstimator::kExact;  // 2D: exact is cheap
    const std::int64_t nfe = write_heat_map(
        path, model, map_scoring, flags.grid,
        "model=" + flags.run.model +
            (info.integrates ? " solver=" + to_string(options.solve.solver) : std::string()));
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
  return {app, [flags] {
            run_likelihood(*flags);
            return 0;
          }};
}

}  // namespace fi::cli
