#include "flowinone/generative/point_rows.h"

#include <algorithm>
#include <exception>
#include <vector>

#include "flowinone/core/single_threaded.h"

namespace fi {

std::int64_t padded_point_rows(std::int64_t rows) {
  return (rows + kPointRowTile - 1) / kPointRowTile * kPointRowTile;
}

VelocityFn point_row_velocity(VelocityFn velocity) {
  return [velocity = std::move(velocity)](const torch::Tensor& x, double t) -> torch::Tensor {
    const std::int64_t rows = x.size(0);
    if (rows % kPointRowTile != 0 || !x.device().is_cpu()) return velocity(x, t);
    const std::int64_t tiles = rows / kPointRowTile;
    // Up to four shards a thread, taken as threads come free: beside a busy process one thread
    // may get less of a core than the other, and equal halves would wait for the slower.
    const int threads = available_threads();
    const int shards = static_cast<int>(
        std::max<std::int64_t>(1, std::min<std::int64_t>(threads > 1 ? 4 * threads : 1, tiles)));
    std::vector<torch::Tensor> parts(static_cast<std::size_t>(shards));
    std::vector<std::exception_ptr> errors(static_cast<std::size_t>(shards));
    auto run_shard = [&](int shard) {
      try {
        SingleThreaded single;
        const std::int64_t begin = shard * tiles / shards * kPointRowTile;
        const std::int64_t end = (shard + 1) * tiles / shards * kPointRowTile;
        parts[static_cast<std::size_t>(shard)] = velocity(x.narrow(0, begin, end - begin), t);
      } catch (...) {
        errors[static_cast<std::size_t>(shard)] = std::current_exception();
      }
    };
    if (shards == 1) {
      run_shard(0);
    } else {
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
      for (int shard = 0; shard < shards; ++shard) run_shard(shard);
    }
    for (const auto& error : errors) {
      if (error) std::rethrow_exception(error);
    }
    return shards == 1 ? parts[0] : torch::cat(parts);
  };
}

Solution solve_point_rows(const VelocityFn& velocity, const torch::Tensor& x0,
                          const SolveOptions& options) {
  // Dopri5's step sizes depend on every row (zero rows would change them); it is never merged.
  if (options.solver == SolverKind::kDopri5) return solve_ode(velocity, x0, options);
  const std::int64_t rows = x0.size(0);
  const std::int64_t padded = padded_point_rows(rows);
  torch::Tensor start = x0;
  if (padded != rows) {
    std::vector<std::int64_t> pad_shape = x0.sizes().vec();
    pad_shape[0] = padded - rows;
    start = torch::cat({x0, torch::zeros(pad_shape, x0.options())});
  }
  Solution solution = solve_ode(point_row_velocity(velocity), start, options);
  if (padded != rows) {
    solution.x = solution.x.narrow(0, 0, rows);
    for (torch::Tensor& state : solution.trajectory) state = state.narrow(0, 0, rows);
  }
  return solution;
}

}  // namespace fi
