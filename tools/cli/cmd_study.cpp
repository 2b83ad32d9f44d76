// flowinone study NAME: reproducible studies that train several models and compare them.
// `couplings` trains one small model per (source -> target, coupling, sigma) and compares
// few-step quality, straightness and solver cost (flowinone/eval/coupling_study.h).
#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "flowinone/core/errors.h"
#include "flowinone/eval/coupling_study.h"
#include "progress_bar.h"

namespace fi::cli {

namespace {

struct StudyFlags {
  std::string name;
  std::string out = "runs/study-couplings";
  CouplingStudyOptions options;
  bool json = false;
};

nlohmann::json row_json(const CouplingStudyRow& row) {
  nlohmann::json w2;
  for (const auto& [steps, value] : row.w2_by_euler_steps) w2[std::to_string(steps)] = value;
  return {{"source", row.source},
          {"target", row.target},
          {"coupling", row.coupling},
          {"sigma", row.sigma},
          {"w2_euler", w2},
          {"path_energy", row.path_energy},
          {"dopri5_nfe", row.dopri5_nfe},
          {"dopri5_w2", row.dopri5_w2},
          {"train_seconds", row.train_seconds},
          {"final_loss", row.final_loss},
          {"model", row.model_dir}};
}

void run_couplings_study(const StudyFlags& flags) {
  CouplingStudyOptions options = flags.options;
  options.out_dir = flags.out;
  const std::size_t count = options.pairs.size() * options.couplings.size() * options.sigmas.size();
  std::cerr << "coupling study: " << count << " settings, each an MLP " << options.width << "x"
            << options.depth << " trained " << options.steps << " steps at batch "
            << options.batch_size << " (lr " << options.lr << ", seed " << options.seed
            << ") on the CPU; scored on " << options.eval_points << " samples; writing to "
            << options.out_dir << "\n";

  const auto start = std::chrono::steady_clock::now();
  std::unique_ptr<ProgressBar> bar;
  CouplingStudyCallbacks callbacks;
  callbacks.on_start = [&](std::size_t index, std::size_t total, const RunConfig& config) {
    std::cerr << "[" << index + 1 << "/" << total << "] " << config.source << " -> "
              << config.target << ", " << config.coupling << ", sigma " << config.sigma << "\n";
    bar = std::make_unique<ProgressBar>(std::max<std::int64_t>(1, config.steps / 4));
  };
  callbacks.train.report_every = 50;
  callbacks.train.on_progress = [&](const TrainProgress& progress) {
    if (bar) bar->update(progress);
  };
  callbacks.on_done = [&](const CouplingStudyRow& row) {
    if (bar) bar->finish();
    std::cerr << "    trained in " << row.train_seconds << " s; W2 by Euler steps:";
    for (const auto& [steps, w2] : row.w2_by_euler_steps) std::cerr << " " << steps << ":" << w2;
    std::cerr << "; path energy " << row.path_energy << ", Dopri5 nfe " << row.dopri5_nfe << "\n";
  };
  const std::vector<CouplingStudyRow> rows = run_coupling_study(options, callbacks);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  std::cerr << "\n" << coupling_study_markdown(rows, options.euler_steps) << "\n";
  std::cerr << "study took " << seconds << " s; wrote study.csv, study.md and study.png to "
            << options.out_dir << "\n";
  nlohmann::json json;
  json["study"] = "couplings";
  json["budget"] = {{"steps", options.steps},
                    {"batch_size", options.batch_size},
                    {"width", options.width},
                    {"depth", options.depth},
                    {"lr", options.lr},
                    {"seed", options.seed},
                    {"eval_points", options.eval_points},
                    {"dopri5_tolerance", options.dopri5_tolerance}};
  json["settings"] = nlohmann::json::array();
  for (const CouplingStudyRow& row : rows) json["settings"].push_back(row_json(row));
  json["seconds"] = seconds;
  json["out"] = options.out_dir;
  if (flags.json) {
    std::cout << json.dump() << std::endl;
  }
}

void run_study(const StudyFlags& flags) {
  if (flags.name == "couplings") return run_couplings_study(flags);
  throw std::invalid_argument("[study] unknown study '" + flags.name + "' (valid: couplings)");
}

}  // namespace

Command add_study_command(CLI::App& parent) {
  auto flags = std::make_shared<StudyFlags>();
  CLI::App* app = parent.add_subcommand("study", "train and compare several models (couplings)");
  app->add_option("name", flags->name, "the study: couplings")->required();
  app->add_option("--out", flags->out, "directory for models, study.csv, study.md, study.png");
  app->add_option("--steps", flags->options.steps, "training steps of every setting")
      ->check(CLI::PositiveNumber);
  app->add_option("--batch-size", flags->options.batch_size, "batch size of every setting")
      ->check(CLI::PositiveNumber);
  app->add_option("--width", flags->options.width, "MLP width")->check(CLI::PositiveNumber);
  app->add_option("--depth", flags->options.depth, "MLP hidden layers")->check(CLI::PositiveNumber);
  app->add_option("--lr", flags->options.lr, "peak learning rate")->check(CLI::PositiveNumber);
  app->add_option("--seed", flags->options.seed, "seed of training and scoring")
      ->check(CLI::NonNegativeNumber);
  app->add_option("--eval-points", flags->options.eval_points,
                  "samples per W2 estimate and path energy")
      ->check(CLI::Range(2, 20000));
  app->add_flag("--json", flags->json, "print one JSON object as the last line");
  return {app, [flags] {
            run_study(*flags);
            return 0;
          }};
}

}  // namespace fi::cli
