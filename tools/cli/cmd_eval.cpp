// flowinone eval: score a trained model's samples against its target distribution.
#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "flowinone/core/random.h"
#include "flowinone/core/runtime.h"
#include "flowinone/eval/evaluate2d.h"
#include "flowinone/train/model_dir.h"
#include "model_run_flags.h"

namespace fi::cli {

namespace {

struct EvalFlags {
  ModelRunFlags run;
  bool json = false;
};

void run_eval(const EvalFlags& flags) {
  const c10::Device device = parse_device(flags.run.device);
  LoadedModel loaded = load_model_dir(flags.run.model, device);
  Eval2dOptions options;
  options.n = flags.run.n;
  options.seed = static_cast<std::uint64_t>(flags.run.seed);
  options.solve = make_solve_options(flags.run.solver, loaded.config);
  Eval2dResult result;
  if (loaded.flow) {
    const auto start = std::chrono::steady_clock::now();
    at::Generator generator = make_generator(options.seed);
    const torch::Tensor samples =
        loaded.flow->sample(options.n, loaded.config.temperature, generator);
    result = score_2d_samples(samples, loaded.config, options);
    result.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  } else {
    result = evaluate_2d(loaded.model, loaded.config, options, device);
  }

  nlohmann::json json;
  if (result.in_square_fraction) json["in_square_fraction"] = *result.in_square_fraction;
  if (result.square_balance) json["square_balance"] = *result.square_balance;
  json["w2"] = result.w2;
  json["model"] = loaded.config.model;
  if (loaded.flow) {
    json["temperature"] = loaded.config.temperature;
  } else {
    json["path_energy"] = result.path_energy;
    json["nfe"] = result.nfe;
    json["solver"] = to_string(options.solve.solver);
    json["steps"] = options.solve.solver == SolverKind::kDopri5
                        ? nlohmann::json(nullptr)
                        : nlohmann::json(options.solve.num_steps);
  }
  if (!loaded.flow && options.solve.solver == SolverKind::kDopri5) {
    json["rtol"] = options.solve.rtol;
    json["atol"] = options.solve.atol;
  }
  json["n"] = flags.run.n;
  json["seconds"] = result.seconds;
  json["target"] = loaded.config.target;
  if (flags.json) {
    std::cout << json.dump() << std::endl;
  } else {
    std::cout << json.dump(2) << std::endl;
  }
}

}  // namespace

Command add_eval_command(CLI::App& parent) {
  auto flags = std::make_shared<EvalFlags>();
  CLI::App* app = parent.add_subcommand("eval", "score a trained model's samples");
  add_model_run_flags(*app, flags->run, "number of samples");
  app->add_flag("--json", flags->json, "print one JSON object as the last line");
  return {app, [flags] { run_eval(*flags); }};
}

}  // namespace fi::cli
