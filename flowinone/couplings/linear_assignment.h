// The linear assignment problem: a permutation minimizing the total cost of a square matrix.
//
// Solved exactly by the shortest augmenting path method of Jonker and Volgenant (1987) with dual
// potentials, O(n^3) worst case; used for the exact minibatch optimal-transport coupling and the
// 2-Wasserstein metric.
#pragma once

#include <cstdint>
#include <vector>

namespace fi {

/// cost: n x n row-major (cost[i * n + j] is the cost of giving row i column j), finite values.
/// Returns assignment with assignment[i] = the column given to row i. n = 0 gives {}.
std::vector<std::int64_t> solve_linear_assignment(const std::vector<double>& cost, std::int64_t n);

}  // namespace fi
