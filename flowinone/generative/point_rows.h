// Solving 2D points so that a point's numbers do not depend on the others in its batch.
//
// BLAS computes a row of a matrix product with one kernel inside a full tile of rows and another
// in the ragged last tile, and OpenBLAS splits a large product between its threads differently
// from a small one, so the same point solved alone and among 1,000 others would differ in the
// last bits. Here the rows are padded with zero rows to whole tiles of kPointRowTile, and each
// velocity evaluation is split, at tile boundaries, into shards whose products run
// single-threaded (core/single_threaded.h), taken by the threads as they come free. A point that
// starts at a tile boundary then gets the same bytes whatever else is solved with it: the server's
// batcher merges concurrent requests that way, and a request served in a batch equals the command
// line's result for its seed. The shards also keep both cores busy on batches too small for BLAS's
// own threads.
#pragma once

#include <cstdint>

#include "flowinone/solvers/ode.h"

namespace fi {

/// 48 is a multiple of the row tiles of OpenBLAS's sgemm kernels (4, 8, 12, 16, 24).
constexpr std::int64_t kPointRowTile = 48;

/// `rows` rounded up to whole kPointRowTile tiles.
std::int64_t padded_point_rows(std::int64_t rows);

/// `velocity` evaluated in row shards (up to four per thread), each a whole number of tiles and
/// computed with single-threaded kernels. A batch that is not a whole number of tiles, or
/// lives on a GPU, is passed to `velocity` as it is.
VelocityFn point_row_velocity(VelocityFn velocity);

/// solve_ode(point_row_velocity(velocity), x0 padded with zero rows to padded_point_rows,
/// options), the solution's x and trajectory cut back to x0's rows. options.on_step sees the
/// padded state. Dopri5 solves x0 as it is: its step sizes depend on every row.
Solution solve_point_rows(const VelocityFn& velocity, const torch::Tensor& x0,
                          const SolveOptions& options);

}  // namespace fi
