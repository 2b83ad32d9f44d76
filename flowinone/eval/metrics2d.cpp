// Checkerboard coverage and the exact 2-Wasserstein distance between point sets.
#include "flowinone/eval/metrics2d.h"

#include <ATen/ATen.h>

#include <cmath>
#include <limits>
#include <vector>

#include "flowinone/core/errors.h"
#include "flowinone/couplings/linear_assignment.h"

namespace fi {

CheckerboardMetrics checkerboard_metrics(const torch::Tensor& samples, const Checkerboard& board) {
  check_arg(samples.defined() && samples.dim() == 2 && samples.size(1) == 2,
            "[checkerboard_metrics] samples must have shape (N, 2), got ",
            samples.defined() ? samples.sizes() : at::IntArrayRef{});
  check_arg(samples.size(0) > 0, "[checkerboard_metrics] no samples (N = 0)");
  const std::int64_t n = samples.size(0);
  const int k = board.squares_per_side();
  const at::Tensor index = board.square_index(samples.detach().cpu());
  const at::Tensor counts =
      at::bincount(index.masked_select(index >= 0), {}, static_cast<std::int64_t>(k) * k)
          .contiguous();
  const std::int64_t* count = counts.data_ptr<std::int64_t>();

  std::int64_t in_filled = 0;
  for (int i = 0; i < k; ++i) {
    for (int j = 0; j < k; ++j) {
      if (board.is_filled(i, j)) in_filled += count[i * k + j];
    }
  }
  CheckerboardMetrics metrics;
  metrics.in_square_fraction = static_cast<double>(in_filled) / n;
  if (in_filled == 0) {
    // Nothing to balance: as far from balanced as it gets.
    metrics.square_balance = std::numeric_limits<double>::infinity();
    return metrics;
  }
  const double mean = static_cast<double>(in_filled) / board.num_filled_squares();
  double worst = 0;
  for (int i = 0; i < k; ++i) {
    for (int j = 0; j < k; ++j) {
      if (board.is_filled(i, j)) worst = std::max(worst, std::abs(count[i * k + j] - mean) / mean);
    }
  }
  metrics.square_balance = worst;
  return metrics;
}

double wasserstein2(const torch::Tensor& a, const torch::Tensor& b) {
  check_arg(a.defined() && b.defined() && a.dim() == 2 && b.dim() == 2,
            "[wasserstein2] both point sets must be (N, D) tensors");
  check_arg(a.sizes() == b.sizes(), "[wasserstein2] point sets differ in shape: ", a.sizes(),
            " and ", b.sizes());
  check_arg(a.size(0) > 0, "[wasserstein2] empty point sets (N = 0)");
  const std::int64_t n = a.size(0), d = a.size(1);
  const at::Tensor pa = a.detach().to(at::kCPU, at::kDouble).contiguous();
  const at::Tensor pb = b.detach().to(at::kCPU, at::kDouble).contiguous();
  check_arg(at::isfinite(pa).all().item<bool>() && at::isfinite(pb).all().item<bool>(),
            "[wasserstein2] point sets hold non-finite values");
  const double* x = pa.data_ptr<double>();
  const double* y = pb.data_ptr<double>();
  // Squared differences summed directly (not |x|^2 + |y|^2 - 2 x.y), which would cancel.
  std::vector<double> cost(static_cast<std::size_t>(n * n));
  for (std::int64_t i = 0; i < n; ++i) {
    for (std::int64_t j = 0; j < n; ++j) {
      double sum = 0;
      for (std::int64_t c = 0; c < d; ++c) {
        const double diff = x[i * d + c] - y[j * d + c];
        sum += diff * diff;
      }
      cost[i * n + j] = sum;
    }
  }
  const std::vector<std::int64_t> assignment = solve_linear_assignment(cost, n);
  double total = 0;
  for (std::int64_t i = 0; i < n; ++i) total += cost[i * n + assignment[i]];
  return std::sqrt(total / n);
}

}  // namespace fi
