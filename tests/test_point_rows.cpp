// Point rows: a 2D point's bytes do not depend on the other points solved with it, and the
// single-threaded guard restores the thread's setting.
#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <torch/types.h>

#include <stdexcept>
#include <thread>

#include "flowinone/core/single_threaded.h"
#include "flowinone/generative/generate.h"
#include "flowinone/generative/point_rows.h"
#include "flowinone/models/mlp.h"

namespace {

fi::VelocityFn small_mlp(std::int64_t width) {
  torch::manual_seed(3);
  fi::MlpOptions options;
  options.width = width;
  options.depth = 2;
  options.fourier_features = 8;
  return fi::model_velocity(std::make_shared<fi::MlpVelocity>(options));
}

}  // namespace

TEST(PointRows, APointsBytesDoNotDependOnItsBatch) {
  torch::manual_seed(0);
  const torch::Tensor points = torch::randn({1000, 2});
  fi::SolveOptions options;
  options.num_steps = 6;
  options.record_trajectory = true;
  for (const std::int64_t width : {16, 64}) {
    SCOPED_TRACE(width);
    const fi::VelocityFn velocity = small_mlp(width);
    const fi::Solution all = fi::solve_point_rows(velocity, points, options);
    ASSERT_EQ(all.x.size(0), 1000);
    ASSERT_EQ(all.trajectory.size(), 7u);
    EXPECT_EQ(all.trajectory[3].size(0), 1000);
    // A prefix alone; and a tile-aligned block after others, solved with them.
    for (const std::int64_t n : {1, 50, 97}) {
      const fi::Solution alone = fi::solve_point_rows(velocity, points.narrow(0, 0, n), options);
      EXPECT_TRUE(torch::equal(alone.x, all.x.narrow(0, 0, n))) << n;
    }
    const torch::Tensor tail = points.narrow(0, 480, 520);  // 480 = 10 tiles
    const fi::Solution later = fi::solve_point_rows(velocity, tail, options);
    EXPECT_TRUE(torch::equal(later.x, all.x.narrow(0, 480, 520)));
  }
  EXPECT_EQ(fi::padded_point_rows(1), fi::kPointRowTile);
  EXPECT_EQ(fi::padded_point_rows(fi::kPointRowTile), fi::kPointRowTile);
  EXPECT_EQ(fi::padded_point_rows(fi::kPointRowTile + 1), 2 * fi::kPointRowTile);
}

TEST(PointRows, AShardsErrorReachesTheCaller) {
  const fi::VelocityFn failing = fi::point_row_velocity([](const torch::Tensor& x, double) {
    if (x.size(0) > 0) throw std::runtime_error("shard failed");
    return x;
  });
  EXPECT_THROW(failing(torch::zeros({10 * fi::kPointRowTile, 2}), 0.5), std::runtime_error);
}

TEST(SingleThreaded, RunsOneThreadInsideAndRestoresAfter) {
  const int before = at::get_num_threads();
  {
    fi::SingleThreaded single;
    EXPECT_EQ(at::get_num_threads(), 1);
  }
  EXPECT_EQ(at::get_num_threads(), before);
  // On a fresh thread the first parallel operation initializes LibTorch's per-thread count; it
  // must not undo the guard (it did: a run's first training step used two threads).
  std::thread fresh([] {
    fi::SingleThreaded single;
    (void)(torch::ones({1 << 20}) * 2).sum();
    EXPECT_EQ(at::get_num_threads(), 1);
  });
  fresh.join();
}
