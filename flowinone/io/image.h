// An 8-bit raster image in host memory: the common currency of the PNG/GIF writers and viz/.
//
// Pixels are row-major, interleaved: pixel (x, y) channel c is at (y * width + x) * channels + c.
// channels is 1 (gray), 3 (RGB) or 4 (RGBA). (0, 0) is the top-left corner.
#pragma once

#include <cstdint>
#include <vector>

namespace fi {

struct Image {
  int width = 0;
  int height = 0;
  int channels = 3;
  std::vector<std::uint8_t> pixels;  // (height, width, channels)

  Image() = default;
  /// A width x height image with every channel set to `fill`.
  Image(int width, int height, int channels, std::uint8_t fill = 0);

  std::uint8_t* at(int x, int y) { return pixels.data() + (std::size_t(y) * width + x) * channels; }
  const std::uint8_t* at(int x, int y) const {
    return pixels.data() + (std::size_t(y) * width + x) * channels;
  }
};

}  // namespace fi
