// flowinone sample: draw samples from a trained model and write them as a picture and/or CSV.
// With --with-logp the CSV gets each sample's model log-density, integrated in the same forward
// pass (exact divergence; solvers/likelihood.h).
#include <cctype>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "commands.h"
#include "flowinone/core/atomic_file.h"
#include "flowinone/core/errors.h"
#include "flowinone/core/runtime.h"
#include "flowinone/generative/generate.h"
#include "flowinone/generative/model_dir.h"
#include "flowinone/io/png.h"
#include "flowinone/viz/image_grid.h"
#include "flowinone/viz/plots2d.h"
#include "model_run_flags.h"

namespace fi::cli {

namespace {

struct SampleFlags {
  ModelRunFlags run;
  std::string out;
  bool with_logp = false;
  double temperature = 0;           // normalizing flows; 0 = the model's configured temperature
  std::string class_name;           // image models: a class id, a class name, or "all"
  double cfg = -1;                  // guidance weight; < 0 = the model's
  std::string estimator = "exact";  // --with-logp: divergence estimator
  std::string probe = "rademacher";
  std::int64_t probes = 1;
  bool json = false;
};

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The generation options of the flags, defaulting to the model's own.
GenerationOptions generation_options(const SampleFlags& flags, const RunConfig& config) {
  GenerationOptions options;
  options.solve = make_solve_options(flags.run.solver, config);
  options.temperature = flags.temperature > 0 ? flags.temperature : config.temperature;
  options.seed = static_cast<std::uint64_t>(flags.run.seed);
  return options;
}

// Columns x,y and, when log_p (N) is given, logp.
std::string points_csv(const torch::Tensor& points, const torch::Tensor& log_p) {
  const torch::Tensor cpu = points.to(torch::kCPU, torch::kFloat64).contiguous();
  const double* data = cpu.data_ptr<double>();
  const torch::Tensor log_p_cpu =
      log_p.defined() ? log_p.to(torch::kCPU, torch::kFloat64).contiguous() : torch::Tensor();
  std::ostringstream out;
  out.precision(7);
  out << (log_p.defined() ? "x,y,logp\n" : "x,y\n");
  for (std::int64_t i = 0; i < cpu.size(0); ++i) {
    out << data[2 * i] << ',' << data[2 * i + 1];
    if (log_p.defined()) out << ',' << log_p_cpu.data_ptr<double>()[i];
    out << '\n';
  }
  return out.str();
}

// The labels to draw: (n) of one class, or per = n samples of every class (row by row).
torch::Tensor requested_labels(const std::string& request, const ModelInfo& info, std::int64_t n) {
  if (request == "all") return torch::arange(info.num_classes).repeat_interleave(n);
  std::int64_t label = -1;
  auto lower = [](std::string text) {
    for (auto& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return text;
  };
  for (std::size_t i = 0; i < info.class_names.size(); ++i)
    if (lower(info.class_names[i]) == lower(request)) label = static_cast<std::int64_t>(i);
  if (label < 0) {
    char* end = nullptr;
    const long long parsed = std::strtoll(request.c_str(), &end, 10);
    check_arg(!request.empty() && *end == '\0' && parsed >= 0 && parsed < info.num_classes,
              "[--class] expected all, a class in [0, ", info.num_classes, ")",
              info.class_names.empty() ? "" : " or a class name", ", got '", request, "'");
    label = parsed;
  }
  return torch::full({n}, label, torch::kInt64);
}

// What every sample run reports: on stderr for people, and as JSON with --json.
void report(const SampleFlags& flags, const std::string& wrote, std::int64_t count,
            std::int64_t nfe, double seconds) {
  std::cerr << "wrote " << wrote << " (" << count << " samples, " << nfe
            << " function evaluations, " << seconds << " s)\n";
  if (flags.json) {
    nlohmann::json json = {{"out", flags.out},
                           {"model", flags.run.model},
                           {"n", count},
                           {"nfe", nfe},
                           {"seconds", seconds}};
    std::cout << json.dump() << std::endl;
  }
}

// Image models: a grid of samples (one row per class with --class all).
void run_sample_images(const SampleFlags& flags, GenerativeModel& model) {
  const RunConfig& config = model.config();
  const ModelInfo info = model.describe();
  check_arg(ends_with(flags.out, ".png"), "[--out] ", flags.out,
            ": image models write a .png grid");
  check_arg(!info.translates, "[sample] ", flags.run.model,
            " translates pictures: use `flowinone translate --model ", flags.run.model,
            " --input PICTURE --out OUT.png`");
  check_arg(!flags.with_logp, "[--with-logp] is for 2D models; score images with ",
            "`flowinone likelihood`");
  check_arg(flags.class_name.empty() || info.num_classes > 0, "[--class] ", flags.run.model,
            " is not class-conditional (num_classes = 0)");
  check_arg(flags.cfg < 0 || info.integrates,
            "[--cfg] guidance is for flow-matching models; normalizing flows take --temperature");
  const bool all = flags.class_name == "all";
  // --n counts the samples, or with --class all the samples per class.
  const std::int64_t n = flags.run.n_given() ? flags.run.n : (all ? 8 : 64);
  torch::Tensor labels;
  if (!flags.class_name.empty()) labels = requested_labels(flags.class_name, info, n);
  int columns =
      all ? static_cast<int>(n) : static_cast<int>(std::ceil(std::sqrt(static_cast<double>(n))));
  const double guidance = flags.cfg >= 0 ? flags.cfg : info.default_guidance;
  GenerationOptions options = generation_options(flags, config);
  options.guidance = labels.defined() ? guidance : 1.0;
  const auto start = std::chrono::steady_clock::now();
  const Generated images = model.sample(labels.defined() ? labels.size(0) : n, labels, options);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  write_png(flags.out, image_grid(images.x, columns),
            {{"flowinone", "model=" + flags.run.model +
                               " class=" + (flags.class_name.empty() ? "none" : flags.class_name) +
                               " cfg=" + std::to_string(guidance) +
                               " seed=" + std::to_string(flags.run.seed)}});
  report(flags, flags.out, images.x.size(0), images.nfe, seconds);
}

void run_sample(const SampleFlags& flags) {
  LoadedModel loaded = load_model_dir(flags.run.model, parse_device(flags.run.device));
  GenerativeModel& model = *loaded.model;
  if (model.describe().is_image) return run_sample_images(flags, model);
  check_arg(flags.class_name.empty() && flags.cfg < 0, "[sample] --class and --cfg are for ",
            "class-conditional image models");
  const bool png = ends_with(flags.out, ".png");
  check_arg(png || ends_with(flags.out, ".csv"), "[--out] ", flags.out,
            ": expected a .png or .csv file name");
  const GenerationOptions options = generation_options(flags, loaded.config);
  const auto start = std::chrono::steady_clock::now();
  Generated samples;
  torch::Tensor log_p;
  if (flags.with_logp) {
    ScoringOptions scoring;
    scoring.likelihood.solve = options.solve;
    scoring.likelihood.estimator = parse_divergence_estimator(flags.estimator);
    scoring.likelihood.probe = parse_probe_kind(flags.probe);
    scoring.likelihood.num_probes = flags.probes;
    scoring.likelihood.seed = static_cast<std::uint64_t>(flags.run.seed) + 1;
    const LogDensity density = model.sample_with_log_prob(flags.run.n, options, scoring);
    samples.x = density.x;
    samples.nfe = density.nfe;
    log_p = density.log_p;
  } else {
    samples = model.sample(flags.run.n, torch::Tensor(), options);
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const std::string stem = flags.out.substr(0, flags.out.size() - 4);
  write_file_atomic(stem + ".csv", points_csv(samples.x, log_p));
  if (png) {
    const torch::Tensor data = sample_target(loaded.config, flags.run.n, flags.run.seed + 1);
    const bool integrates = model.describe().integrates;
    const Image picture = side_by_side(
        {density_image(samples.x), density_image(data)},
        {"model (" + (integrates ? to_string(options.solve.solver) : loaded.config.model) + ")",
         "data"});
    write_png(flags.out, picture,
              {{"flowinone",
                "model=" + flags.run.model + " solver=" + to_string(options.solve.solver) +
                    " steps=" + std::to_string(options.solve.num_steps) + " n=" +
                    std::to_string(flags.run.n) + " seed=" + std::to_string(flags.run.seed)}});
  }
  report(flags, (png ? flags.out + " and " : std::string()) + stem + ".csv", flags.run.n,
         samples.nfe, seconds);
}

}  // namespace

Command add_sample_command(CLI::App& parent) {
  auto flags = std::make_shared<SampleFlags>();
  CLI::App* app = parent.add_subcommand("sample", "draw samples from a trained model");
  add_model_run_flags(*app, flags->run, "number of samples (image models: default 64)");
  app->add_option("--out", flags->out, "output .png (with a .csv beside it) or .csv")->required();
  app->add_option("--temperature", flags->temperature,
                  "normalizing flows: std of the base samples (default: the model's, 1)")
      ->check(finite_range(1e-3, 10.0));
  app->add_option("--class", flags->class_name,
                  "class-conditional image models: a class (number or name), or all for one row "
                  "per class (--n then counts per class; default 8)");
  app->add_option("--cfg", flags->cfg,
                  "classifier-free guidance weight (default: the model's guidance; 1 = none)")
      ->check(finite_range(0.0, 100.0));
  app->add_flag("--with-logp", flags->with_logp,
                "add each sample's model log-density (nats) to the CSV as a logp column");
  app->add_option("--estimator", flags->estimator,
                  "--with-logp, velocity models: divergence exact or hutchinson")
      ->capture_default_str();
  app->add_option("--probes", flags->probes, "--with-logp, hutchinson: probes per sample")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{100000}))
      ->capture_default_str();
  app->add_option("--probe", flags->probe, "--with-logp, hutchinson: rademacher or gaussian")
      ->capture_default_str();
  app->add_flag("--json", flags->json, "print one JSON object as the last line");
  return {app, [flags] {
            run_sample(*flags);
            return 0;
          }};
}

}  // namespace fi::cli
