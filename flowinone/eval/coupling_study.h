// The coupling study: what the pairing of endpoints and the path noise do to a flow.
//
// For each source -> target pair, each coupling and each sigma, one small model is trained with the
// same budget and seed, then scored: W2 to the target after Euler with 1, 2, 4, 8 and 100 steps
// (few-step quality is where straight, non-crossing paths pay off), the normalized path energy of
// the simulated trajectories (0 for straight constant-speed paths), the evaluations Dopri5 needs,
// and the training time. Tong et al. 2024 ("Improving and generalizing flow-based generative
// models with minibatch optimal transport") is the reference for what to expect.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "flowinone/generative/run_config.h"
#include "flowinone/io/image.h"
#include "flowinone/train/trainer.h"

namespace fi {

struct StudyPair {
  std::string source;
  std::string target;
};

struct CouplingStudyOptions {
  std::vector<StudyPair> pairs = {{"gaussian", "checkerboard"}, {"8gaussians", "moons"}};
  std::vector<std::string> couplings = {"independent", "ot-exact", "ot-sinkhorn"};
  std::vector<double> sigmas = {0.0, 0.1};
  std::vector<int> euler_steps = {1, 2, 4, 8, 100};
  // The training budget of every setting (the rest of the configuration is RunConfig's
  // defaults).
  std::int64_t steps = 4000;
  std::int64_t batch_size = 256;
  std::int64_t width = 128;
  std::int64_t depth = 3;
  double lr = 2e-3;
  std::int64_t seed = 1;
  // Scoring.
  std::int64_t eval_points = 2000;  // samples per W2 estimate and for the path energy
  double dopri5_tolerance = 1e-5;   // rtol = atol
  std::int64_t picture_particles = 200;
  std::string out_dir;  // models/<setting>/, study.csv, study.md, study.png
};

struct CouplingStudyRow {
  std::string source, target, coupling;
  double sigma = 0;
  std::map<int, double> w2_by_euler_steps;
  double path_energy = 0;  // from the Euler trajectories with the most steps
  std::int64_t dopri5_nfe = 0;
  double dopri5_w2 = 0;
  double train_seconds = 0;
  double final_loss = 0;
  std::string model_dir;
};

struct CouplingStudyCallbacks {
  /// Before each setting: its index (from 0), the count and the configuration to be trained.
  std::function<void(std::size_t index, std::size_t count, const RunConfig& config)> on_start;
  /// Passed to the trainer of each setting.
  TrainCallbacks train;
  /// After each setting is trained and scored.
  std::function<void(const CouplingStudyRow& row)> on_done;
};

/// The run configuration of one setting.
RunConfig study_setting_config(const CouplingStudyOptions& options, const StudyPair& pair,
                               const std::string& coupling, double sigma);

/// Short name of a setting, used for model directories and picture titles.
std::string study_setting_name(const CouplingStudyRow& row);

/// Trains and scores every setting, writing models and the three outputs into options.out_dir.
std::vector<CouplingStudyRow> run_coupling_study(const CouplingStudyOptions& options,
                                                 const CouplingStudyCallbacks& callbacks = {});

/// The rows as CSV (one line per setting, header first) and as a markdown table.
std::string coupling_study_csv(const std::vector<CouplingStudyRow>& rows,
                               const std::vector<int>& euler_steps);
std::string coupling_study_markdown(const std::vector<CouplingStudyRow>& rows,
                                    const std::vector<int>& euler_steps);

}  // namespace fi
