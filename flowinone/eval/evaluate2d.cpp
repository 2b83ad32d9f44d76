#include "flowinone/eval/evaluate2d.h"

#include <chrono>

#include "flowinone/core/errors.h"
#include "flowinone/data/toy2d.h"
#include "flowinone/eval/metrics2d.h"
#include "flowinone/solvers/generate.h"

namespace fi {

Eval2dResult evaluate_2d(const VelocityModelPtr& model, const RunConfig& config,
                         const Eval2dOptions& options, const c10::Device& device) {
  check_arg(options.n >= 1, "[evaluate_2d] n must be >= 1, got ", options.n);
  check_arg(options.w2_points >= 1, "[evaluate_2d] w2_points must be >= 1, got ", options.w2_points);
  Eval2dResult result;
  const auto start = std::chrono::steady_clock::now();
  const Solution solution = generate(model, config, options.n, options.seed, options.solve, device);
  const torch::Tensor samples = solution.x.to(torch::kCPU);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  result.nfe = solution.nfe;

  const auto target = make_toy2d(config.target);
  if (const auto* board = dynamic_cast<const Checkerboard*>(target.get())) {
    const CheckerboardMetrics metrics = checkerboard_metrics(samples, *board);
    result.in_square_fraction = metrics.in_square_fraction;
    result.square_balance = metrics.square_balance;
  }
  // W2 between the first w2_points samples and as many fresh data points (another seed).
  const std::int64_t m = std::min(options.w2_points, options.n);
  result.w2 = wasserstein2(samples.slice(0, 0, m),
                           sample_target(config, m, options.seed + 0x9e3779b9ULL));
  return result;
}

}  // namespace fi
