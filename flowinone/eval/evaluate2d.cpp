#include "flowinone/eval/evaluate2d.h"

#include <chrono>

#include "flowinone/core/errors.h"
#include "flowinone/data/toy2d.h"
#include "flowinone/eval/metrics2d.h"
#include "flowinone/generative/generate.h"

namespace fi {

double normalized_path_energy(const std::vector<torch::Tensor>& trajectory,
                              const std::vector<double>& times) {
  check_arg(trajectory.size() >= 2 && trajectory.size() == times.size(),
            "[normalized_path_energy] need at least two recorded states with their times, got ",
            trajectory.size(), " states and ", times.size(), " times");
  double energy = 0;  // integral of E||v||^2 dt
  for (std::size_t k = 0; k + 1 < trajectory.size(); ++k) {
    const double dt = times[k + 1] - times[k];
    if (dt == 0) continue;
    const torch::Tensor step = (trajectory[k + 1] - trajectory[k]).to(torch::kFloat64);
    energy += step.pow(2).flatten(1).sum(1).mean().item<double>() / std::abs(dt);
  }
  const double displacement = (trajectory.back() - trajectory.front())
                                  .to(torch::kFloat64)
                                  .pow(2)
                                  .flatten(1)
                                  .sum(1)
                                  .mean()
                                  .item<double>();
  check_arg(displacement > 0, "[normalized_path_energy] the particles did not move");
  return energy / displacement - 1.0;
}

Eval2dResult evaluate_2d(GenerativeModel& model, const Eval2dOptions& options) {
  check_arg(options.n >= 1, "[evaluate_2d] n must be >= 1, got ", options.n);
  check_arg(options.w2_points >= 1, "[evaluate_2d] w2_points must be >= 1, got ",
            options.w2_points);
  GenerationOptions generation;
  generation.solve = options.solve;
  generation.solve.record_trajectory = true;
  generation.temperature = options.temperature;
  generation.seed = options.seed;
  const auto start = std::chrono::steady_clock::now();
  const Generated generated = model.sample(options.n, torch::Tensor(), generation);
  const torch::Tensor samples = generated.x.to(torch::kCPU);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  Eval2dResult result = score_2d_samples(samples, model.config(), options);
  result.seconds = seconds;
  result.nfe = generated.nfe;
  if (!generated.trajectory.empty()) {
    result.path_energy = normalized_path_energy(generated.trajectory, generated.times);
  }
  return result;
}

Eval2dResult score_2d_samples(const torch::Tensor& samples, const RunConfig& config,
                              const Eval2dOptions& options) {
  check_arg(samples.dim() == 2 && samples.size(1) == 2 && samples.size(0) >= 1,
            "[score_2d_samples] samples must be (N, 2), got ", samples.sizes());
  Eval2dResult result;
  const torch::Tensor points = samples.to(torch::kCPU);
  const auto target = make_toy2d(config.target);
  if (const auto* board = dynamic_cast<const Checkerboard*>(target.get())) {
    const CheckerboardMetrics metrics = checkerboard_metrics(points, *board);
    result.in_square_fraction = metrics.in_square_fraction;
    result.square_balance = metrics.square_balance;
  }
  // W2 between the first w2_points samples and as many fresh data points (another seed).
  const std::int64_t m = std::min(options.w2_points, points.size(0));
  result.w2 =
      wasserstein2(points.slice(0, 0, m), sample_target(config, m, options.seed + 0x9e3779b9ULL));
  return result;
}

}  // namespace fi
