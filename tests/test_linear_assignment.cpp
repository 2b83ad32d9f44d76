// Exact linear assignment against brute force, and sanity bounds on a larger problem.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>

#include "flowinone/couplings/linear_assignment.h"

namespace {

double total_cost(const std::vector<double>& cost, std::int64_t n,
                  const std::vector<std::int64_t>& assignment) {
  double total = 0;
  for (std::int64_t i = 0; i < n; ++i) total += cost[i * n + assignment[i]];
  return total;
}

bool is_permutation(std::vector<std::int64_t> assignment, std::int64_t n) {
  if (static_cast<std::int64_t>(assignment.size()) != n) return false;
  std::sort(assignment.begin(), assignment.end());
  for (std::int64_t i = 0; i < n; ++i) {
    if (assignment[i] != i) return false;
  }
  return true;
}

double brute_force_minimum(const std::vector<double>& cost, std::int64_t n) {
  std::vector<std::int64_t> permutation(n);
  std::iota(permutation.begin(), permutation.end(), 0);
  double best = std::numeric_limits<double>::infinity();
  do {
    best = std::min(best, total_cost(cost, n, permutation));
  } while (std::next_permutation(permutation.begin(), permutation.end()));
  return best;
}

// Each row in turn takes its cheapest free column.
double greedy_cost(const std::vector<double>& cost, std::int64_t n) {
  std::vector<bool> taken(n, false);
  double total = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    std::int64_t best = -1;
    for (std::int64_t j = 0; j < n; ++j) {
      if (!taken[j] && (best < 0 || cost[i * n + j] < cost[i * n + best])) best = j;
    }
    taken[best] = true;
    total += cost[i * n + best];
  }
  return total;
}

// Reference twin: the textbook O(n^3) Hungarian method, rows added one at a time, with row
// potentials u, column potentials v and a Dijkstra-like sweep; column 0 is a sentinel.
double hungarian_minimum(const std::vector<double>& cost, std::int64_t n) {
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> u(n + 1, 0), v(n + 1, 0);
  std::vector<std::int64_t> row_of(n + 1, 0), way(n + 1, 0);
  for (std::int64_t i = 1; i <= n; ++i) {
    row_of[0] = i;
    std::int64_t j0 = 0;
    std::vector<double> min_to(n + 1, inf);
    std::vector<bool> used(n + 1, false);
    do {
      used[j0] = true;
      const std::int64_t i0 = row_of[j0];
      double delta = inf;
      std::int64_t j1 = 0;
      for (std::int64_t j = 1; j <= n; ++j) {
        if (used[j]) continue;
        const double reduced = cost[(i0 - 1) * n + (j - 1)] - u[i0] - v[j];
        if (reduced < min_to[j]) {
          min_to[j] = reduced;
          way[j] = j0;
        }
        if (min_to[j] < delta) {
          delta = min_to[j];
          j1 = j;
        }
      }
      for (std::int64_t j = 0; j <= n; ++j) {
        if (used[j]) {
          u[row_of[j]] += delta;
          v[j] -= delta;
        } else {
          min_to[j] -= delta;
        }
      }
      j0 = j1;
    } while (row_of[j0] != 0);
    do {
      const std::int64_t j1 = way[j0];
      row_of[j0] = row_of[j1];
      j0 = j1;
    } while (j0 != 0);
  }
  double total = 0;
  for (std::int64_t j = 1; j <= n; ++j) total += cost[(row_of[j] - 1) * n + (j - 1)];
  return total;
}

}  // namespace

TEST(LinearAssignment, MatchesBruteForceOnSmallProblems) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> uniform(-5.0, 10.0);
  std::uniform_int_distribution<int> small_int(0, 3);  // many ties
  for (std::int64_t n = 1; n <= 8; ++n) {
    const int trials = n <= 6 ? 20 : 4;
    for (int trial = 0; trial < trials; ++trial) {
      std::vector<double> cost(n * n);
      for (auto& c : cost) c = trial % 2 == 0 ? uniform(rng) : small_int(rng);
      const auto assignment = fi::solve_linear_assignment(cost, n);
      ASSERT_TRUE(is_permutation(assignment, n)) << "n = " << n;
      EXPECT_NEAR(total_cost(cost, n, assignment), brute_force_minimum(cost, n), 1e-9)
          << "n = " << n << ", trial " << trial;
    }
  }
}

TEST(LinearAssignment, LargeProblemBeatsIdentityAndGreedy) {
  const std::int64_t n = 256;
  std::mt19937_64 rng(11);
  std::normal_distribution<double> normal;
  // Squared distances between two point clouds, the case the couplings solve.
  std::vector<double> a(2 * n), b(2 * n);
  for (auto& x : a) x = normal(rng);
  for (auto& x : b) x = normal(rng);
  std::vector<double> cost(n * n);
  for (std::int64_t i = 0; i < n; ++i) {
    for (std::int64_t j = 0; j < n; ++j) {
      const double dx = a[2 * i] - b[2 * j], dy = a[2 * i + 1] - b[2 * j + 1];
      cost[i * n + j] = dx * dx + dy * dy;
    }
  }
  const auto assignment = fi::solve_linear_assignment(cost, n);
  ASSERT_TRUE(is_permutation(assignment, n));
  std::vector<std::int64_t> identity(n);
  std::iota(identity.begin(), identity.end(), 0);
  const double optimal = total_cost(cost, n, assignment);
  EXPECT_LE(optimal, total_cost(cost, n, identity));
  EXPECT_LE(optimal, greedy_cost(cost, n) + 1e-9);
  // No pair of rows gains by swapping their columns (a necessary condition of optimality).
  for (std::int64_t i = 0; i < n; ++i) {
    for (std::int64_t k = i + 1; k < n; ++k) {
      const double now = cost[i * n + assignment[i]] + cost[k * n + assignment[k]];
      const double swapped = cost[i * n + assignment[k]] + cost[k * n + assignment[i]];
      ASSERT_LE(now, swapped + 1e-9) << "rows " << i << " and " << k;
    }
  }
}

TEST(LinearAssignment, MatchesAReferenceHungarianOnMidSizeProblems) {
  // Sizes past the auction threshold; ties, offsets and plain noise.
  std::mt19937_64 rng(13);
  std::normal_distribution<double> normal;
  std::uniform_int_distribution<int> small_int(0, 4);
  for (const std::int64_t n : {63, 64, 150}) {
    for (int kind = 0; kind < 4; ++kind) {
      std::vector<double> cost(n * n);
      std::vector<double> a(2 * n), b(2 * n);
      for (auto& x : a) x = normal(rng);
      for (auto& x : b) x = normal(rng) + 1.5;
      for (std::int64_t i = 0; i < n; ++i) {
        for (std::int64_t j = 0; j < n; ++j) {
          const double dx = a[2 * i] - b[2 * j], dy = a[2 * i + 1] - b[2 * j + 1];
          double& c = cost[i * n + j];
          c = kind == 0   ? small_int(rng)
              : kind == 1 ? dx * dx + dy * dy
              : kind == 2 ? 1.0
                          : normal(rng);
        }
      }
      const auto assignment = fi::solve_linear_assignment(cost, n);
      ASSERT_TRUE(is_permutation(assignment, n)) << "n = " << n << ", kind " << kind;
      EXPECT_NEAR(total_cost(cost, n, assignment), hungarian_minimum(cost, n), 1e-8)
          << "n = " << n << ", kind " << kind;
    }
  }
}

TEST(LinearAssignment, EmptyAndSingleProblems) {
  EXPECT_TRUE(fi::solve_linear_assignment({}, 0).empty());
  EXPECT_EQ(fi::solve_linear_assignment({3.5}, 1), std::vector<std::int64_t>{0});
}

TEST(LinearAssignment, BadInputsThrow) {
  EXPECT_THROW(fi::solve_linear_assignment({1, 2, 3}, 2), std::invalid_argument);
  EXPECT_THROW(fi::solve_linear_assignment({1, 2, 3, 4}, 3), std::invalid_argument);
  EXPECT_THROW(fi::solve_linear_assignment({}, -1), std::invalid_argument);
  EXPECT_THROW(fi::solve_linear_assignment({1, std::nan(""), 3, 4}, 2), std::invalid_argument);
  try {
    fi::solve_linear_assignment({1, 2, std::numeric_limits<double>::infinity(), 4}, 2);
    FAIL() << "no throw";
  } catch (const std::invalid_argument& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("[solve_linear_assignment]"), std::string::npos) << message;
    EXPECT_NE(message.find("inf"), std::string::npos) << message;
  }
}
