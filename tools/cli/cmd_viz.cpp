// flowinone viz: pictures of a trained 2D model: densities, trajectories, the vector field over
// time, and an animation of particles flowing from the source to the data.
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "flowinone/core/atomic_file.h"
#include "flowinone/core/errors.h"
#include "flowinone/core/runtime.h"
#include "flowinone/generative/generate.h"
#include "flowinone/generative/model_dir.h"
#include "flowinone/io/gif.h"
#include "flowinone/io/png.h"
#include "flowinone/viz/plots2d.h"
#include "model_run_flags.h"

namespace fi::cli {

namespace {

struct VizFlags {
  ModelRunFlags run;
  std::string out;
  std::int64_t particles = 300;
  std::int64_t frames = 60;
  bool json = false;
};

std::string fixed2(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f", value);
  return text;
}

void run_viz(const VizFlags& flags) {
  const c10::Device device = parse_device(flags.run.device);
  LoadedModel loaded = load_model_dir(flags.run.model, device);
  GenerativeModel& model = *loaded.model;
  const ModelInfo info = model.describe();
  // Checked before anything is drawn: sampling an image model here would take hours.
  check_arg(!info.is_image, "[--model] ", flags.run.model,
            " is an image model; viz draws 2D models (use `sample` for pictures)");
  check_arg(info.integrates, "[--model] ", flags.run.model, " holds a normalizing flow (",
            loaded.config.model,
            "); viz draws the trajectories and velocity field of a "
            "flow-matching model: use `sample` and `likelihood` for flows");
  ensure_directory(flags.out);
  const std::uint64_t seed = static_cast<std::uint64_t>(flags.run.seed);
  const VelocityFn velocity = model.velocity_field();
  auto generate = [&](std::int64_t n, const SolveOptions& solve) {
    GenerationOptions options;
    options.solve = solve;
    options.seed = seed;
    return model.sample(n, torch::Tensor(), options);
  };

  // Densities of model samples, data and source.
  const SolveOptions options = make_solve_options(flags.run.solver, loaded.config);
  const Generated samples = generate(flags.run.n, options);
  write_png(flags.out + "/density.png",
            side_by_side({density_image(sample_source(loaded.config, flags.run.n, seed, device)),
                          density_image(samples.x),
                          density_image(sample_target(loaded.config, flags.run.n, seed + 1))},
                         {"source (t=0)", "model (t=1)", "data"}));

  // Trajectories of a few hundred particles, recorded at every step of a fixed-step solver.
  SolveOptions recorded = options;
  if (recorded.solver == SolverKind::kDopri5) recorded.solver = SolverKind::kRk4;
  recorded.record_trajectory = true;
  const Generated paths = generate(flags.particles, recorded);
  write_png(flags.out + "/trajectories.png", trajectories_image(paths.trajectory));

  // The vector field at five times.
  std::vector<Image> fields;
  std::vector<std::string> titles;
  for (double t : {0.0, 0.25, 0.5, 0.75, 1.0}) {
    fields.push_back(vector_field_image(velocity, t, 24, PlotOptions{4.5, 360}));
    titles.push_back("t = " + fixed2(t));
  }
  write_png(flags.out + "/vector_field.png", side_by_side(fields, titles));

  // The animation: many particles, one frame per Euler step.
  SolveOptions animation;
  animation.solver = SolverKind::kEuler;
  animation.num_steps = static_cast<int>(flags.frames);
  animation.record_trajectory = true;
  const Generated flow = generate(std::min<std::int64_t>(flags.run.n, 3000), animation);
  write_gif(flags.out + "/flow.gif",
            flow_frames(flow.trajectory, flow.times, PlotOptions{4.5, 360}), 6);

  const std::vector<std::string> pictures = {"density.png", "trajectories.png", "vector_field.png",
                                             "flow.gif"};
  std::cerr << "wrote density.png, trajectories.png, vector_field.png and flow.gif to " << flags.out
            << "\n";
  if (flags.json) {
    nlohmann::json json = {{"out", flags.out}, {"model", flags.run.model}, {"pictures", pictures}};
    add_solver_fields(json, options, samples.nfe);
    std::cout << json.dump() << std::endl;
  }
}

}  // namespace

Command add_viz_command(CLI::App& parent) {
  auto flags = std::make_shared<VizFlags>();
  CLI::App* app = parent.add_subcommand("viz", "draw a 2D model's densities, paths and field");
  app->add_option("--out", flags->out, "directory for the pictures")->required();
  app->add_option("--particles", flags->particles, "particles in trajectories.png")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{100'000}))
      ->capture_default_str();
  app->add_option("--frames", flags->frames, "frames (Euler steps) in flow.gif")
      ->check(CLI::Range(std::int64_t{2}, std::int64_t{1000}))
      ->capture_default_str();
  add_model_run_flags(*app, flags->run, "samples in the density pictures");
  app->add_flag("--json", flags->json, "print one JSON object as the last line");
  return {app, [flags] {
            run_viz(*flags);
            return 0;
          }};
}

}  // namespace fi::cli
