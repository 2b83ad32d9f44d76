#include "flowinone/eval/coupling_study.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "flowinone/core/atomic_file.h"
#include "flowinone/core/errors.h"
#include "flowinone/eval/evaluate2d.h"
#include "flowinone/generative/generate.h"
#include "flowinone/generative/model_dir.h"
#include "flowinone/io/png.h"
#include "flowinone/viz/plots2d.h"

namespace fi {

namespace {

std::string format_number(double value, const char* format) {
  char text[64];
  std::snprintf(text, sizeof text, format, value);
  return text;
}

// Plot extent that holds both ends of the trajectories, in half units.
double extent_for(const std::vector<torch::Tensor>& trajectory) {
  const double reach = std::max(trajectory.front().abs().max().item<double>(),
                                trajectory.back().abs().max().item<double>());
  return std::clamp(std::ceil(reach * 1.05 * 2.0) / 2.0, 4.5, 12.0);
}

void check_options(const CouplingStudyOptions& options) {
  check_arg(!options.pairs.empty() && !options.couplings.empty() && !options.sigmas.empty(),
            "[coupling study] needs at least one pair, coupling and sigma");
  check_arg(!options.euler_steps.empty(), "[coupling study] needs at least one Euler step count");
  for (int steps : options.euler_steps) {
    check_arg(steps >= 1, "[coupling study] Euler step counts must be >= 1, got ", steps);
  }
  check_arg(options.steps >= 1, "[coupling study] steps must be >= 1, got ", options.steps);
  check_arg(options.eval_points >= 2, "[coupling study] eval_points must be >= 2, got ",
            options.eval_points);
  check_arg(options.picture_particles >= 1, "[coupling study] picture_particles must be >= 1");
  check_arg(options.dopri5_tolerance > 0, "[coupling study] dopri5_tolerance must be > 0");
  check_arg(!options.out_dir.empty(), "[coupling study] needs an output directory");
}

}  // namespace

RunConfig study_setting_config(const CouplingStudyOptions& options, const StudyPair& pair,
                               const std::string& coupling, double sigma) {
  RunConfig config;
  config.source = pair.source;
  config.target = pair.target;
  config.coupling = coupling;
  config.sigma = sigma;
  config.width = options.width;
  config.depth = options.depth;
  config.steps = options.steps;
  config.batch_size = options.batch_size;
  config.lr = options.lr;
  config.warmup_steps = std::min<std::int64_t>(200, options.steps / 10);
  config.checkpoint_every = options.steps;  // one checkpoint, at the end
  config.log_every = std::max<std::int64_t>(1, options.steps / 20);
  config.seed = options.seed;
  config.device = "cpu";  // the study's timings are the CPU's; small MLPs gain nothing on a GPU
  validate_config(config);
  return config;
}

std::string study_setting_name(const CouplingStudyRow& row) {
  return row.source + "-" + row.target + "_" + row.coupling + "_sigma" +
         format_number(row.sigma, "%g");
}

std::vector<CouplingStudyRow> run_coupling_study(const CouplingStudyOptions& options,
                                                 const CouplingStudyCallbacks& callbacks) {
  check_options(options);
  ensure_directory(options.out_dir);
  const c10::Device cpu(c10::kCPU);
  const int most_steps = *std::max_element(options.euler_steps.begin(), options.euler_steps.end());
  const std::size_t count = options.pairs.size() * options.couplings.size() * options.sigmas.size();

  std::vector<CouplingStudyRow> rows;
  std::vector<std::vector<Image>> picture_rows;  // one row of panels per pair
  std::vector<std::vector<std::string>> picture_titles;
  for (const StudyPair& pair : options.pairs) {
    picture_rows.emplace_back();
    picture_titles.emplace_back();
    for (const std::string& coupling : options.couplings) {
      for (double sigma : options.sigmas) {
        const RunConfig config = study_setting_config(options, pair, coupling, sigma);
        CouplingStudyRow row;
        row.source = pair.source;
        row.target = pair.target;
        row.coupling = coupling;
        row.sigma = sigma;
        row.model_dir = options.out_dir + "/models/" + study_setting_name(row);
        if (callbacks.on_start) callbacks.on_start(rows.size(), count, config);

        TrainOptions train_options;
        train_options.out_dir = row.model_dir;
        const TrainResult trained = train_model(config, train_options, callbacks.train);
        check_arg(!trained.stopped_early, "[coupling study] stopped during ",
                  study_setting_name(row));
        row.train_seconds = trained.seconds;
        row.final_loss = trained.final_loss;

        const LoadedModel loaded = load_model_dir(row.model_dir, cpu);
        torch::NoGradGuard no_grad;
        Eval2dOptions eval;
        eval.n = options.eval_points;
        eval.w2_points = options.eval_points;
        eval.seed = static_cast<std::uint64_t>(options.seed) + 1000;
        eval.solve.solver = SolverKind::kEuler;
        for (int steps : options.euler_steps) {
          eval.solve.num_steps = steps;
          const Eval2dResult scored = evaluate_2d(*loaded.model, eval);
          row.w2_by_euler_steps[steps] = scored.w2;
          if (steps == most_steps) row.path_energy = scored.path_energy.value_or(0.0);
        }
        eval.solve.solver = SolverKind::kDopri5;
        eval.solve.rtol = eval.solve.atol = options.dopri5_tolerance;
        const Eval2dResult adaptive = evaluate_2d(*loaded.model, eval);
        row.dopri5_nfe = adaptive.nfe;
        row.dopri5_w2 = adaptive.w2;

        GenerationOptions paths;
        paths.solve.solver = SolverKind::kEuler;
        paths.solve.num_steps = most_steps;
        paths.solve.record_trajectory = true;
        paths.seed = eval.seed;
        const Generated particles =
            loaded.model->sample(options.picture_particles, torch::Tensor(), paths);
        PlotOptions plot;
        plot.extent = extent_for(particles.trajectory);
        plot.size = 256;
        picture_rows.back().push_back(trajectories_image(particles.trajectory, plot));
        picture_titles.back().push_back(row.target + " " + coupling +
                                        " s=" + format_number(sigma, "%g"));
        rows.push_back(row);
        if (callbacks.on_done) callbacks.on_done(row);
      }
    }
  }

  std::vector<Image> stacked;
  for (std::size_t i = 0; i < picture_rows.size(); ++i) {
    stacked.push_back(side_by_side(picture_rows[i], picture_titles[i]));
  }
  write_png(options.out_dir + "/study.png", stacked_vertically(stacked));
  write_file_atomic(options.out_dir + "/study.csv", coupling_study_csv(rows, options.euler_steps));
  write_file_atomic(options.out_dir + "/study.md",
                    coupling_study_markdown(rows, options.euler_steps));
  return rows;
}

std::string coupling_study_csv(const std::vector<CouplingStudyRow>& rows,
                               const std::vector<int>& euler_steps) {
  std::ostringstream csv;
  csv << "source,target,coupling,sigma";
  for (int steps : euler_steps) csv << ",w2_euler" << steps;
  csv << ",path_energy,dopri5_nfe,dopri5_w2,train_seconds,final_loss\n";
  for (const CouplingStudyRow& row : rows) {
    csv << row.source << ',' << row.target << ',' << row.coupling << ',' << row.sigma;
    for (int steps : euler_steps) {
      const auto found = row.w2_by_euler_steps.find(steps);
      csv << ',' << (found == row.w2_by_euler_steps.end() ? std::nan("") : found->second);
    }
    csv << ',' << row.path_energy << ',' << row.dopri5_nfe << ',' << row.dopri5_w2 << ','
        << row.train_seconds << ',' << row.final_loss << '\n';
  }
  return csv.str();
}

std::string coupling_study_markdown(const std::vector<CouplingStudyRow>& rows,
                                    const std::vector<int>& euler_steps) {
  std::ostringstream md;
  md << "| source -> target | coupling | sigma |";
  for (int steps : euler_steps) md << " W2 Euler " << steps << " |";
  md << " path energy | Dopri5 NFE | train s |\n|---|---|---|";
  for (std::size_t i = 0; i < euler_steps.size(); ++i) md << "---|";
  md << "---|---|---|\n";
  for (const CouplingStudyRow& row : rows) {
    md << "| " << row.source << " -> " << row.target << " | " << row.coupling << " | "
       << format_number(row.sigma, "%g") << " |";
    for (int steps : euler_steps) {
      const auto found = row.w2_by_euler_steps.find(steps);
      md << ' '
         << (found == row.w2_by_euler_steps.end() ? "-" : format_number(found->second, "%.3f"))
         << " |";
    }
    md << ' ' << format_number(row.path_energy, "%.3f") << " | " << row.dopri5_nfe << " | "
       << format_number(row.train_seconds, "%.1f") << " |\n";
  }
  return md.str();
}

}  // namespace fi
