// flowinone sample: draw samples from a trained model and write them as a picture and/or CSV.
// With --with-logp the CSV gets each sample's model log-density, integrated in the same forward
// pass (exact divergence; solvers/likelihood.h).
#include <filesystem>
#include <iostream>
#include <sstream>

#include "commands.h"
#include "flowinone/core/atomic_file.h"
#include "flowinone/core/errors.h"
#include "flowinone/core/runtime.h"
#include "flowinone/io/png.h"
#include "flowinone/solvers/generate.h"
#include "flowinone/solvers/likelihood.h"
#include "flowinone/train/model_dir.h"
#include "flowinone/viz/plots2d.h"
#include "model_run_flags.h"

namespace fi::cli {

namespace {

struct SampleFlags {
  ModelRunFlags run;
  std::string out;
  bool with_logp = false;
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

void run_sample(const SampleFlags& flags) {
  const bool png = ends_with(flags.out, ".png");
  check_arg(png || ends_with(flags.out, ".csv"), "[--out] ", flags.out,
            ": expected a .png or .csv file name");
  const c10::Device device = parse_device(flags.run.device);
  LoadedModel loaded = load_model_dir(flags.run.model, device);
  const SolveOptions options = make_solve_options(flags.run.solver, loaded.config);
  Solution solution;
  torch::Tensor log_p;
  if (flags.with_logp) {
    check_likelihood_source(loaded.config);
    LikelihoodOptions likelihood;
    likelihood.solve = options;
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
    const Image picture = side_by_side({density_image(solution.x), density_image(data)},
                                       {"model (" + to_string(options.solver) + ")", "data"});
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
  add_model_run_flags(*app, flags->run, "number of samples");
  app->add_option("--out", flags->out, "output .png (with a .csv beside it) or .csv")->required();
  app->add_flag("--with-logp", flags->with_logp,
                "add each sample's model log-density (nats) to the CSV as a logp column");
  return {app, [flags] { run_sample(*flags); }};
}

}  // namespace fi::cli
