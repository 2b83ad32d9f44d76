// flowinone sample: draw samples from a trained model and write them as a picture and/or CSV.
// With --with-logp the CSV gets each sample's model log-density, integrated in the same forward
// pass (exact divergence; solvers/likelihood.h).
#include <cctype>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "commands.h"
#include "flowinone/core/atomic_file.h"
#include "flowinone/core/errors.h"
#include "flowinone/core/random.h"
#include "flowinone/core/runtime.h"
#include "flowinone/data/fashion_mnist.h"
#include "flowinone/io/png.h"
#include "flowinone/solvers/generate.h"
#include "flowinone/solvers/image_generation.h"
#include "flowinone/solvers/likelihood.h"
#include "flowinone/train/data_spec.h"
#include "flowinone/train/model_dir.h"
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
};

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
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
torch::Tensor requested_labels(const std::string& request, const RunConfig& config,
                               std::int64_t n) {
  if (request == "all") return torch::arange(config.num_classes).repeat_interleave(n);
  const std::vector<std::string> names = data_kind(config) == DataKind::kFashionMnist
                                             ? fashion_mnist_class_names()
                                             : std::vector<std::string>{};
  std::int64_t label = -1;
  auto lower = [](std::string text) {
    for (auto& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return text;
  };
  for (std::size_t i = 0; i < names.size(); ++i)
    if (lower(names[i]) == lower(request)) label = static_cast<std::int64_t>(i);
  if (label < 0) {
    char* end = nullptr;
    const long long parsed = std::strtoll(request.c_str(), &end, 10);
    check_arg(!request.empty() && *end == '\0' && parsed >= 0 && parsed < config.num_classes,
              "[--class] expected all, a class in [0, ", config.num_classes, ")",
              names.empty() ? "" : " or a class name", ", got '", request, "'");
    label = parsed;
  }
  return torch::full({n}, label, torch::kInt64);
}

// Image models: a grid of samples (one row per class with --class all).
void run_sample_images(const SampleFlags& flags, const LoadedModel& loaded,
                       const c10::Device& device) {
  const RunConfig& config = loaded.config;
  check_arg(ends_with(flags.out, ".png"), "[--out] ", flags.out,
            ": image models write a .png grid");
  check_arg(!is_image_pairs(config), "[sample] ", flags.run.model,
            " translates pictures: use `flowinone translate --model ", flags.run.model,
            " --input PICTURE --out OUT.png`");
  check_arg(!flags.with_logp, "[--with-logp] is for 2D models; score images with ",
            "`flowinone likelihood`");
  check_arg(flags.class_name.empty() || config.num_classes > 0, "[--class] ", flags.run.model,
            " is not class-conditional (num_classes = 0)");
  const bool all = flags.class_name == "all";
  // --n counts the samples, or with --class all the samples per class.
  const std::int64_t n = flags.run.n_given() ? flags.run.n : (all ? 8 : 64);
  torch::Tensor labels;
  if (!flags.class_name.empty()) labels = requested_labels(flags.class_name, config, n);
  int columns =
      all ? static_cast<int>(n) : static_cast<int>(std::ceil(std::sqrt(static_cast<double>(n))));
  const auto start = std::chrono::steady_clock::now();
  torch::Tensor images;
  std::int64_t nfe = 0;
  double guidance = 1.0;
  if (loaded.flow) {
    check_arg(flags.cfg < 0, "[--cfg] guidance is for velocity models; flows take --temperature");
    check_arg(config.num_classes == 0 || labels.defined(), "[--class] ", flags.run.model,
              " is a class-conditional flow: name a class or all");
    at::Generator generator = make_generator(static_cast<std::uint64_t>(flags.run.seed));
    const double temperature = flags.temperature > 0 ? flags.temperature : config.temperature;
    torch::NoGradGuard no_grad;
    images = loaded.flow->sample(labels.defined() ? labels.size(0) : n, temperature, generator,
                                 labels.defined() ? labels.to(device) : torch::Tensor());
  } else {
    ImageGenerationOptions options;
    options.solve = make_solve_options(flags.run.solver, config);
    guidance = flags.cfg >= 0 ? flags.cfg : config.guidance;
    options.guidance = labels.defined() ? guidance : 1.0;
    options.seed = static_cast<std::uint64_t>(flags.run.seed);
    images = generate_images(loaded.model, config, labels.defined() ? labels.size(0) : n, labels,
                             options, device, &nfe);
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  write_png(flags.out, image_grid(images, columns),
            {{"flowinone", "model=" + flags.run.model +
                               " class=" + (flags.class_name.empty() ? "none" : flags.class_name) +
                               " cfg=" + std::to_string(guidance) +
                               " seed=" + std::to_string(flags.run.seed)}});
  std::cerr << "wrote " << flags.out << " (" << images.size(0) << " images, " << nfe
            << " function evaluations, " << seconds << " s)\n";
}

void run_sample(const SampleFlags& flags) {
  const c10::Device device = parse_device(flags.run.device);
  LoadedModel loaded = load_model_dir(flags.run.model, device);
  if (is_image_data(loaded.config)) return run_sample_images(flags, loaded, device);
  check_arg(flags.class_name.empty() && flags.cfg < 0, "[sample] --class and --cfg are for ",
            "class-conditional image models");
  const bool png = ends_with(flags.out, ".png");
  check_arg(png || ends_with(flags.out, ".csv"), "[--out] ", flags.out,
            ": expected a .png or .csv file name");
  const SolveOptions options = make_solve_options(flags.run.solver, loaded.config);
  Solution solution;
  torch::Tensor log_p;
  if (loaded.flow) {
    // A normalizing flow samples in one inverse pass; its log-density is exact.
    check_arg(flags.temperature >= 0, "[--temperature] must be > 0, got ", flags.temperature);
    const double temperature =
        flags.temperature > 0 ? flags.temperature : loaded.config.temperature;
    at::Generator generator = make_generator(static_cast<std::uint64_t>(flags.run.seed));
    solution.x = loaded.flow->sample(flags.run.n, temperature, generator);
    if (flags.with_logp) {
      torch::NoGradGuard no_grad;
      log_p = loaded.flow->log_prob(solution.x).to(torch::kFloat64);
    }
  } else if (flags.with_logp) {
    check_likelihood_source(loaded.config);
    LikelihoodOptions likelihood;
    likelihood.solve = options;
    likelihood.estimator = parse_divergence_estimator(flags.estimator);
    likelihood.probe = parse_probe_kind(flags.probe);
    likelihood.num_probes = flags.probes;
    likelihood.seed = static_cast<std::uint64_t>(flags.run.seed) + 1;
    const LogDensity density =
        sample_with_log_density(differentiable_model_velocity(loaded.model),
                                sample_source(loaded.config, flags.run.n,
                                              static_cast<std::uint64_t>(flags.run.seed), device),
                                likelihood);
    solution.x = density.x;
    solution.nfe = density.nfe;
    log_p = density.log_p;
  } else {
    solution = generate(loaded.model, loaded.config, flags.run.n,
                        static_cast<std::uint64_t>(flags.run.seed), options, device);
  }
  const std::string stem = flags.out.substr(0, flags.out.size() - 4);
  write_file_atomic(stem + ".csv", points_csv(solution.x, log_p));
  if (png) {
    const torch::Tensor data = sample_target(loaded.config, flags.run.n, flags.run.seed + 1);
    const Image picture = side_by_side(
        {density_image(solution.x), density_image(data)},
        {"model (" + (loaded.flow ? loaded.config.model : to_string(options.solver)) + ")",
         "data"});
    write_png(flags.out, picture,
              {{"flowinone", "model=" + flags.run.model + " solver=" + to_string(options.solver) +
                                 " steps=" + std::to_string(options.num_steps) +
                                 " n=" + std::to_string(flags.run.n) +
                                 " seed=" + std::to_string(flags.run.seed)}});
  }
  std::cerr << "wrote " << (png ? flags.out + " and " : std::string()) << stem << ".csv ("
            << flags.run.n << " samples, " << solution.nfe << " function evaluations)\n";
}

}  // namespace

Command add_sample_command(CLI::App& parent) {
  auto flags = std::make_shared<SampleFlags>();
  CLI::App* app = parent.add_subcommand("sample", "draw samples from a trained model");
  add_model_run_flags(*app, flags->run, "number of samples (image models: default 64)");
  app->add_option("--out", flags->out, "output .png (with a .csv beside it) or .csv")->required();
  app->add_option("--temperature", flags->temperature,
                  "normalizing flows: std of the base samples (default: the model's, 1)")
      ->check(CLI::PositiveNumber);
  app->add_option("--class", flags->class_name,
                  "class-conditional image models: a class (number or name), or all for one row "
                  "per class (--n then counts per class; default 8)");
  app->add_option("--cfg", flags->cfg,
                  "classifier-free guidance weight (default: the model's guidance; 1 = none)")
      ->check(CLI::Range(0.0, 100.0));
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
  return {app, [flags] { run_sample(*flags); }};
}

}  // namespace fi::cli
