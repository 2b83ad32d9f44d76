// Pictures of image batches: samples side by side in rows, for previews and `sample` output.
#pragma once

#include <torch/types.h>

#include "flowinone/io/image.h"

namespace fi {

/// images (B, C, H, W), C = 1 or 3, values in [-1, 1] (clamped), laid out row by row in
/// `columns` columns with `padding` pixels of dark gray between and around them. A last row
/// that is not full is left blank where images are missing. Throws std::invalid_argument for
/// another shape, B = 0 or columns < 1.
Image image_grid(const torch::Tensor& images, int columns, int padding = 2);

}  // namespace fi
