// Sample-quality metrics for the 2D cases.
#pragma once

#include <torch/types.h>

#include <cstdint>

#include "flowinone/data/toy2d.h"

namespace fi {

struct CheckerboardMetrics {
  double in_square_fraction = 0;  // share of samples inside filled squares
  double square_balance = 0;      // max over filled squares of |count - mean| / mean
                                  // (counts of the samples in filled squares; +inf if none)
};

/// samples (N, 2), N >= 1, against the board.
CheckerboardMetrics checkerboard_metrics(const torch::Tensor& samples, const Checkerboard& board);

/// 2-Wasserstein distance between two equally weighted point sets of the same size (N, D), by an
/// exact optimal assignment of the squared Euclidean costs: sqrt(min_perm mean ||a_i -
/// b_perm(i)||^2).
double wasserstein2(const torch::Tensor& a, const torch::Tensor& b);

}  // namespace fi
