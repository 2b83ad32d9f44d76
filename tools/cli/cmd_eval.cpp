// flowinone eval: score a trained model's samples against its target distribution.
#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "flowinone/core/errors.h"
#include "flowinone/core/random.h"
#include "flowinone/core/runtime.h"
#include "flowinone/eval/evaluate2d.h"
#include "flowinone/eval/image_scores.h"
#include "flowinone/eval/visprompt_bench.h"
#include "flowinone/generative/data_spec.h"
#include "flowinone/generative/model_dir.h"
#include "flowinone/generative/model_registry.h"
#include "flowinone/train/training_data.h"
#include "model_run_flags.h"

namespace fi::cli {

namespace {

struct EvalFlags {
  ModelRunFlags run;
  bool json = false;
  std::string classifier;  // image models: the classifier directory
  double cfg = -1;         // guidance weight; < 0 = the model's
  bool baselines = false;  // image models: also score a Gaussian fit and an untrained model
  std::string bench;       // "visprompt": VP-Bench-mini on an image-pairs model
  bool oracle = false;     // --bench: score the ground truths instead of the model
};

void print(const nlohmann::json& json, bool compact) {
  std::cout << (compact ? json.dump() : json.dump(2)) << std::endl;
}

nlohmann::json scores_json(const ImageScores& scores) {
  nlohmann::json json;
  json["fid"] = scores.fid;
  if (scores.class_accuracy) json["class_accuracy"] = *scores.class_accuracy;
  return json;
}

// Image models: FID and class accuracy with the classifier, beside baselines.
void run_eval_images(const EvalFlags& flags, GenerativeModel& model, const c10::Device& device) {
  const RunConfig& config = model.config();
  const ModelInfo info = model.describe();
  check_arg(!flags.classifier.empty(), "[eval] ", flags.run.model,
            " is an image model: give --classifier DIR (train one with `flowinone "
            "train-classifier --out DIR`)");
  check_arg(!info.translates, "[eval] ", flags.run.model,
            " translates pictures: score it with --bench visprompt");
  LoadedClassifier classifier = load_classifier(flags.classifier, device);
  const std::int64_t n = flags.run.n_given() ? flags.run.n : 10000;
  // Requested classes cycle through all classes, so every class gets n / classes samples.
  torch::Tensor labels;
  if (info.num_classes > 0) labels = torch::arange(n, torch::kInt64).remainder(info.num_classes);
  const auto test = open_image_dataset(config, Split::kTest);
  const FeatureStatistics reference = reference_statistics(
      *classifier.model, first_examples(*test, test->size()).images.to(device));

  GenerationOptions options;
  options.solve = make_solve_options(flags.run.solver, config);
  options.guidance = flags.cfg >= 0 ? flags.cfg : info.default_guidance;
  options.temperature = info.default_temperature;
  options.seed = static_cast<std::uint64_t>(flags.run.seed);
  const auto start = std::chrono::steady_clock::now();
  const Generated images = model.sample(n, labels, options);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  nlohmann::json json = scores_json(score_images(*classifier.model, images.x, labels, reference));
  json["model"] = config.model;
  json["target"] = config.target;
  json["n"] = n;
  json["seconds"] = seconds;
  json["classifier_test_accuracy"] = classifier.test_accuracy;
  if (info.integrates) {
    add_solver_fields(json, options.solve, images.nfe);
    json["cfg"] = labels.defined() ? options.guidance : 1.0;
  }
  if (flags.baselines) {
    nlohmann::json baselines;
    const auto train = open_image_dataset(config, Split::kTrain);
    const torch::Tensor train_images = first_examples(*train, train->size()).images;
    baselines["gaussian_fit"] = scores_json(score_images(
        *classifier.model, gaussian_fit_samples(train_images, n, options.seed).to(device), labels,
        reference));
    GenerativeModelPtr untrained;
    {
      GlobalGeneratorRestorer restore;
      seed_global(static_cast<std::uint64_t>(config.seed));
      untrained = build_generative_model(config);
    }
    untrained->module().to(device);
    untrained->module().eval();
    baselines["untrained"] = scores_json(score_images(
        *classifier.model, untrained->sample(n, labels, options).x, labels, reference));
    // The floor: real training images against the test set, n of them.
    baselines["train_data"] = scores_json(
        score_images(*classifier.model,
                     train_images.narrow(0, 0, std::min<std::int64_t>(n, train->size())).to(device),
                     torch::Tensor(), reference));
    json["baselines"] = baselines;
  }
  print(json, flags.json);
}

// VP-Bench-mini: the model translates n pairs per task drawn from Fashion-MNIST's test items;
// the judges score them (eval/visprompt_bench.h).
void run_visprompt_bench_command(const EvalFlags& flags, GenerativeModel& model,
                                 const c10::Device& device) {
  const RunConfig& config = model.config();
  check_arg(flags.bench == "visprompt", "[--bench] unknown benchmark '", flags.bench,
            "' (valid: visprompt)");
  check_arg(data_kind(config) == DataKind::kVisPrompt, "[--bench visprompt] ", flags.run.model,
            " was trained on ", config.target, ", not on VisPrompt-mini (target = visprompt)");
  check_arg(!flags.classifier.empty(),
            "[--bench visprompt] give --classifier DIR: without it "
            "class fidelity is not judged and a copy of the prompt passes class2image and doodle");
  LoadedClassifier classifier = load_classifier(flags.classifier, device);
  const std::unique_ptr<ItemSource> items = open_prompt_items(config, Split::kTest);
  VisPromptBenchOptions options;
  options.n = flags.run.n_given() ? flags.run.n : 200;
  options.seed = static_cast<std::uint64_t>(flags.run.seed);
  options.size = static_cast<int>(data_shape(config)[1]);
  GenerationOptions generation;
  generation.solve = make_solve_options(flags.run.solver, config);
  generation.guidance = flags.cfg >= 0 ? flags.cfg : model.describe().default_guidance;
  generation.seed = static_cast<std::uint64_t>(flags.run.seed);
  std::int64_t nfe = 0;
  const TranslateFn translate =
      flags.oracle
          ? oracle_translate(*items)
          : TranslateFn([&](const torch::Tensor& inputs, const std::vector<PromptTaskInfo>&) {
              const Generated outputs = model.translate(inputs, generation);
              nfe = outputs.nfe;
              return outputs.x.cpu();
            });
  const VisPromptBenchResult result =
      run_visprompt_bench(*items, translate, options, classifier.model.get());
  nlohmann::json json = result.to_json();
  json["mode"] = flags.oracle ? "oracle" : pairing_mode(config);
  json["model"] = flags.run.model;
  if (!flags.oracle) {
    add_solver_fields(json, generation.solve, nfe);
    json["cfg"] = generation.guidance;
  }
  json["classifier_test_accuracy"] = classifier.test_accuracy;
  print(json, flags.json);
}

void run_eval(const EvalFlags& flags) {
  const c10::Device device = parse_device(flags.run.device);
  LoadedModel loaded = load_model_dir(flags.run.model, device);
  GenerativeModel& model = *loaded.model;
  const ModelInfo info = model.describe();
  check_arg(!flags.oracle || !flags.bench.empty(), "[--oracle] is an option of --bench");
  if (!flags.bench.empty()) return run_visprompt_bench_command(flags, model, device);
  if (info.is_image) return run_eval_images(flags, model, device);
  check_arg(flags.classifier.empty() && flags.cfg < 0 && !flags.baselines, "[eval] --classifier, ",
            "--cfg and --baselines are for image models");
  Eval2dOptions options;
  options.n = flags.run.n;
  options.seed = static_cast<std::uint64_t>(flags.run.seed);
  options.solve = make_solve_options(flags.run.solver, loaded.config);
  options.temperature = info.default_temperature;
  const Eval2dResult result = evaluate_2d(model, options);

  nlohmann::json json;
  if (result.in_square_fraction) json["in_square_fraction"] = *result.in_square_fraction;
  if (result.square_balance) json["square_balance"] = *result.square_balance;
  json["w2"] = result.w2;
  json["model"] = loaded.config.model;
  if (info.temperature) json["temperature"] = options.temperature;
  if (result.path_energy) json["path_energy"] = *result.path_energy;
  if (info.integrates) add_solver_fields(json, options.solve, result.nfe);
  json["n"] = flags.run.n;
  json["seconds"] = result.seconds;
  json["target"] = loaded.config.target;
  print(json, flags.json);
}

}  // namespace

Command add_eval_command(CLI::App& parent) {
  auto flags = std::make_shared<EvalFlags>();
  CLI::App* app = parent.add_subcommand("eval", "score a trained model's samples");
  add_model_run_flags(*app, flags->run, "number of samples (image models: default 10000)");
  app->add_flag("--json", flags->json, "print one JSON object as the last line");
  app->add_option("--classifier", flags->classifier,
                  "image models: classifier directory (flowinone train-classifier) for fid and "
                  "class_accuracy");
  app->add_option("--cfg", flags->cfg,
                  "image models: classifier-free guidance weight (default: the model's)")
      ->check(finite_range(0.0, 100.0));
  app->add_option("--bench", flags->bench,
                  "a benchmark instead of the model's own data: visprompt (VP-Bench-mini; "
                  "--n pairs per task, default 200)");
  app->add_flag("--oracle", flags->oracle,
                "--bench: score the ground-truth outputs (every judge must pass them)");
  app->add_flag("--baselines", flags->baselines,
                "image models: also score a Gaussian fitted to the pixels, an untrained model and "
                "real training images");
  return {app, [flags] {
            run_eval(*flags);
            return 0;
          }};
}

}  // namespace fi::cli
