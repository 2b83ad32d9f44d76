// Linear assignment by shortest augmenting paths (Jonker and Volgenant, 1987).
//
// Only column potentials v are stored; a row's potential is implicit, min_j (c_ij - v_j), and an
// assigned pair always attains it. Column reduction assigns most rows at once; every row left free
// is then joined by one Dijkstra search over the reduced costs, which keeps the invariant.
#include "flowinone/couplings/linear_assignment.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "flowinone/core/errors.h"

namespace fi {

namespace {

constexpr std::int64_t kUnassigned = -1;

class AssignmentSolver {
 public:
  AssignmentSolver(const std::vector<double>& cost, std::int64_t n)
      : cost_(cost.data()),
        n_(n),
        v_(n, 0.0),
        row_of_column_(n, kUnassigned),
        column_of_row_(n, kUnassigned),
        distance_(n),
        predecessor_(n),
        masked_v_(n),
        key_(n) {}

  std::vector<std::int64_t> solve() {
    reduce_columns();
    std::vector<std::int64_t> free_rows;
    for (std::int64_t row = 0; row < n_; ++row) {
      if (column_of_row_[row] == kUnassigned) free_rows.push_back(row);
    }
    // Two rounds, as Jonker and Volgenant do; later rounds rarely pay for their scans.
    for (int round = 0; round < 2 && !free_rows.empty(); ++round) {
      free_rows = reduce_augmenting_rows(free_rows);
    }
    for (const std::int64_t row : free_rows) augment(row);
    return column_of_row_;
  }

 private:
  const double* row_costs(std::int64_t row) const { return cost_ + row * n_; }

  // Row then column reduction: u_i = min_j c_ij, v_j = min_i (c_ij - u_i), and column j goes to
  // its cheapest row when that row is still free. Assigned pairs then attain their row minimum
  // of c_ij - v_j (u_i), as the invariant wants. Reducing rows first matters when rows differ
  // by an offset (point clouds shifted apart): otherwise most columns pick the same few rows.
  void reduce_columns() {
    std::vector<double> u(n_);
    for (std::int64_t i = 0; i < n_; ++i) {
      const double* c = row_costs(i);
      double m = c[0];
      for (std::int64_t j = 1; j < n_; ++j) m = std::min(m, c[j]);
      u[i] = m;
    }
    std::vector<std::int64_t> best_row(n_, 0);
    for (std::int64_t j = 0; j < n_; ++j) v_[j] = row_costs(0)[j] - u[0];
    // Row by row keeps the reads contiguous.
    for (std::int64_t i = 1; i < n_; ++i) {
      const double* c = row_costs(i);
      for (std::int64_t j = 0; j < n_; ++j) {
        const double h = c[j] - u[i];
        if (h < v_[j]) {
          v_[j] = h;
          best_row[j] = i;
        }
      }
    }
    for (std::int64_t j = n_ - 1; j >= 0; --j) {
      const std::int64_t i = best_row[j];
      if (column_of_row_[i] == kUnassigned) {
        column_of_row_[i] = j;
        row_of_column_[j] = i;
      }
    }
  }

  // Augmenting row reduction, an auction in all but name: each free row takes its cheapest
  // column and lowers that column's potential until the row's second choice ties, evicting the
  // previous owner, which bids at once. Returns the rows still free. Assigned pairs keep
  // attaining their row minimum, so the Dijkstra phase may start from here.
  std::vector<std::int64_t> reduce_augmenting_rows(const std::vector<std::int64_t>& free_rows) {
    std::vector<std::int64_t> still_free;
    // Bids can trade tiny decrements for a long time on near-ties; past this budget the
    // remaining rows are left to the shortest path phase, which is always exact.
    std::int64_t budget = 8 * n_ + 16;
    for (std::int64_t row : free_rows) {
      while (row != kUnassigned) {
        if (--budget < 0) {
          still_free.push_back(row);
          break;
        }
        const double* c = row_costs(row);
        double best = std::numeric_limits<double>::infinity();
        double second = best;
        std::int64_t best_column = 0, second_column = 0;
        for (std::int64_t j = 0; j < n_; ++j) {
          const double h = c[j] - v_[j];
          if (h < second) {
            if (h >= best) {
              second = h;
              second_column = j;
            } else {
              second = best;
              second_column = best_column;
              best = h;
              best_column = j;
            }
          }
        }
        std::int64_t column = best_column;
        std::int64_t evicted = row_of_column_[column];
        const bool strict = best < second;
        if (strict && std::isfinite(second)) {
          v_[column] -= second - best;
        } else if (!strict && evicted != kUnassigned) {
          // A tie: the second column is as good and may be free.
          column = second_column;
          evicted = row_of_column_[column];
        }
        column_of_row_[row] = column;
        row_of_column_[column] = row;
        if (evicted != kUnassigned) column_of_row_[evicted] = kUnassigned;
        if (evicted != kUnassigned && !strict) {
          // Its potential did not move, so bidding again would loop; leave it to Dijkstra.
          still_free.push_back(evicted);
          evicted = kUnassigned;
        }
        row = evicted;
      }
    }
    return still_free;
  }

  // Dijkstra from the free row `start` over the reduced costs c_ij - v_j - u_i, until it settles
  // a free column; then moves the potentials of the settled columns and flips the path.
  // Each settled column costs one contiguous pass over a cost row that relaxes and finds the
  // next minimum together; settled columns are masked by a potential of -inf (their reduced
  // cost becomes +inf, never an improvement) and a key of +inf (never the minimum).
  void augment(std::int64_t start) {
    constexpr double kInf = std::numeric_limits<double>::infinity();
    masked_v_ = v_;
    std::fill(key_.begin(), key_.end(), kInf);
    settled_.clear();
    std::int64_t row = start;
    double shift = 0;  // u_row minus the distance to row's column, so keys are path lengths
    double min_key = 0;
    std::int64_t end = kUnassigned;
    while (true) {
      const double* c = row_costs(row);
      double* key = key_.data();
      const double* mv = masked_v_.data();
      std::int64_t* pred = predecessor_.data();
      min_key = kInf;
      std::int64_t min_column = kUnassigned;
      for (std::int64_t j = 0; j < n_; ++j) {
        const double d = c[j] - mv[j] - shift;
        if (d < key[j]) {
          key[j] = d;
          pred[j] = row;
        }
        if (key[j] < min_key) {
          min_key = key[j];
          min_column = j;
        }
      }
      if (row_of_column_[min_column] == kUnassigned) {
        end = min_column;
        break;
      }
      // Settle the column and continue from the row it is assigned to.
      distance_[min_column] = min_key;
      settled_.push_back(min_column);
      key[min_column] = kInf;
      masked_v_[min_column] = -kInf;
      row = row_of_column_[min_column];
      shift = row_costs(row)[min_column] - v_[min_column] - min_key;
    }
    for (const std::int64_t j : settled_) v_[j] += distance_[j] - min_key;
    std::int64_t j = end;
    while (true) {
      const std::int64_t r = predecessor_[j];
      row_of_column_[j] = r;
      const std::int64_t previous = column_of_row_[r];
      column_of_row_[r] = j;
      if (r == start) break;
      j = previous;
    }
  }

  const double* cost_;
  std::int64_t n_;
  std::vector<double> v_;
  std::vector<std::int64_t> row_of_column_;
  std::vector<std::int64_t> column_of_row_;
  std::vector<double> distance_;
  std::vector<std::int64_t> predecessor_;
  std::vector<double> masked_v_;
  std::vector<double> key_;
  std::vector<std::int64_t> settled_;
};

}  // namespace

std::vector<std::int64_t> solve_linear_assignment(const std::vector<double>& cost, std::int64_t n) {
  check_arg(n >= 0, "[solve_linear_assignment] n, ", n, ", must be >= 0");
  // n * n must not overflow before it is compared with the size.
  check_arg(n <= (std::int64_t{1} << 31) &&
                static_cast<std::uint64_t>(n) * static_cast<std::uint64_t>(n) == cost.size(),
            "[solve_linear_assignment] cost has ", cost.size(), " entries, expected n * n = ", n,
            " * ", n);
  for (std::size_t k = 0; k < cost.size(); ++k) {
    check_arg(std::isfinite(cost[k]), "[solve_linear_assignment] cost[", k / n, " * n + ", k % n,
              "] = ", cost[k], " is not finite");
  }
  if (n == 0) return {};
  return AssignmentSolver(cost, n).solve();
}

}  // namespace fi
