// Conversions between 8-bit pixels and the model's value range.
//
// Models see images as float32 in [-1, 1]: 0 -> -1, 255 -> 1, linearly (x / 127.5 - 1). The
// inverse rounds to the nearest byte and clamps, so a round trip of uint8 pixels is exact.
#pragma once

#include <torch/types.h>

namespace fi {

/// uint8 pixels of any shape -> float32 in [-1, 1], same shape.
torch::Tensor pixels_to_unit_range(const torch::Tensor& pixels);

/// float values of any shape (nominally in [-1, 1]) -> uint8 pixels, clamped and rounded.
torch::Tensor unit_range_to_pixels(const torch::Tensor& values);

}  // namespace fi
