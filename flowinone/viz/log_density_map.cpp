#include "flowinone/viz/log_density_map.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "flowinone/core/errors.h"
#include "flowinone/viz/canvas.h"

namespace fi {

namespace {
void check_grid(int grid_size, double extent, const char* op) {
  check_arg(grid_size >= 2 && grid_size <= 4096, "[", op, "] grid_size must be in [2, 4096], got ",
            grid_size);
  check_arg(std::isfinite(extent) && extent > 0, "[", op, "] extent must be positive, got ",
            extent);
}
}  // namespace

torch::Tensor log_density_grid(int grid_size, double extent) {
  check_grid(grid_size, extent, "log_density_grid");
  const double cell = 2.0 * extent / grid_size;
  const torch::Tensor centers =
      torch::arange(grid_size, torch::kFloat64).mul(cell).add(-extent + 0.5 * cell);
  // Rows run from the top (largest y) down; columns from the left.
  const torch::Tensor ys = centers.flip({0}).unsqueeze(1).expand({grid_size, grid_size});
  const torch::Tensor xs = centers.unsqueeze(0).expand({grid_size, grid_size});
  return torch::stack({xs.reshape({-1}), ys.reshape({-1})}, 1).to(torch::kFloat32);
}

Image log_density_image(const torch::Tensor& log_p, int grid_size, double low, double high,
                        const PlotOptions& options) {
  check_grid(grid_size, options.extent, "log_density_image");
  check_arg(options.size >= 16 && options.size <= 16384,
            "[log_density_image] plot size must be in [16, 16384], got ", options.size);
  check_arg(log_p.defined() && log_p.numel() == std::int64_t(grid_size) * grid_size,
            "[log_density_image] expected ", grid_size * grid_size, " values, got ",
            log_p.defined() ? log_p.numel() : 0);
  check_arg(std::isfinite(low) && std::isfinite(high) && high > low,
            "[log_density_image] need finite low < high, got ", low, ", ", high);
  const torch::Tensor host = log_p.detach().to(torch::kCPU, torch::kFloat64).contiguous();
  const double* values = host.data_ptr<double>();
  Canvas canvas(options.size, options.size);
  for (int y = 0; y < options.size; ++y) {
    const int row = std::min(grid_size - 1, y * grid_size / options.size);
    for (int x = 0; x < options.size; ++x) {
      const int column = std::min(grid_size - 1, x * grid_size / options.size);
      const double value = values[std::size_t(row) * grid_size + column];
      if (!(value > -INFINITY)) continue;  // zero density or NaN stays white
      canvas.blend_pixel(x, y, colormap_viridis((value - low) / (high - low)));
    }
  }
  return std::move(canvas.image());
}

}  // namespace fi
