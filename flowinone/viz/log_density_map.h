// Heat maps of a 2D log-density evaluated on a regular grid, for comparing a model's density
// with the true one (flowinone likelihood).
//
// The grid covers [-extent, extent]^2 with grid_size x grid_size cells; its points are the cell
// centers in row-major order from the top-left cell (y pointing up, as in the other plots), so
// value k belongs to cell (k % grid_size, k / grid_size) of the picture.
#pragma once

#include <torch/types.h>

#include "flowinone/io/image.h"
#include "flowinone/viz/plots2d.h"

namespace fi {

/// The cell centers: (grid_size^2, 2) float32 CPU.
torch::Tensor log_density_grid(int grid_size, double extent);

/// log_p (grid_size^2) on the grid above as a viridis heat map of options.size pixels: values in
/// [low, high] map to the color scale, values below low to its darkest color, -inf (zero density)
/// and NaN to white.
Image log_density_image(const torch::Tensor& log_p, int grid_size, double low, double high,
                        const PlotOptions& options = {});

}  // namespace fi
