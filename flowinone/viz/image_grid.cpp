#include "flowinone/viz/image_grid.h"

#include "flowinone/core/errors.h"
#include "flowinone/data/pixels.h"

namespace fi {

Image image_grid(const torch::Tensor& images, int columns, int padding) {
  check_arg(images.defined() && images.dim() == 4 && images.size(0) >= 1 &&
                (images.size(1) == 1 || images.size(1) == 3),
            "[image_grid] expected images (B >= 1, C = 1 or 3, H, W), got ",
            images.defined() ? images.sizes() : c10::IntArrayRef{});
  check_arg(columns >= 1 && padding >= 0, "[image_grid] columns must be >= 1 and padding >= 0");
  const auto count = static_cast<int>(images.size(0));
  const auto channels = static_cast<int>(images.size(1));
  const auto height = static_cast<int>(images.size(2));
  const auto width = static_cast<int>(images.size(3));
  columns = std::min(columns, count);
  const int rows = (count + columns - 1) / columns;
  Image grid(padding + columns * (width + padding), padding + rows * (height + padding), channels,
             48);
  // (B, H, W, C) bytes.
  const torch::Tensor bytes = unit_range_to_pixels(images.detach().to(torch::kCPU, torch::kFloat32))
                                  .permute({0, 2, 3, 1})
                                  .contiguous();
  const std::uint8_t* data = bytes.data_ptr<std::uint8_t>();
  for (int i = 0; i < count; ++i) {
    const int left = padding + (i % columns) * (width + padding);
    const int top = padding + (i / columns) * (height + padding);
    for (int y = 0; y < height; ++y) {
      const std::uint8_t* row = data + ((std::size_t(i) * height + y) * width) * channels;
      std::copy(row, row + std::size_t(width) * channels, grid.at(left, top + y));
    }
  }
  return grid;
}

}  // namespace fi
