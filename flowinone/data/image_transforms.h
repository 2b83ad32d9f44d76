// Per-picture transforms that bring files of any size and color layout to a model's input:
// channel conversion, resizing the shorter side with a centre crop, and the conversion to a
// (C, H, W) float tensor in [-1, 1].
//
// Resampling is area averaging when shrinking and bilinear interpolation when enlarging. Area
// averaging gives each output pixel the mean of the source region it covers, so shrinking a
// 1024-pixel photo to 64 uses every source pixel (plain bilinear reads only 4 of the 256 under
// each output pixel and aliases fine texture into noise); when enlarging, area averaging
// degenerates to nearest-neighbour blocks, where bilinear is smooth. Both treat pixel centres at
// half-integer coordinates (PyTorch's align_corners=false).
//
// These run on worker threads: plain loops over bytes, no torch operations (whose intra-op
// threads would oversubscribe the cores the workers already use).
#pragma once

#include <torch/types.h>

#include "flowinone/io/image.h"

namespace fi {

/// The picture with `channels` channels: 1 (gray) or 3 (RGB). RGB -> gray uses the Rec. 601
/// luma (0.299 R + 0.587 G + 0.114 B); gray -> RGB copies; alpha is composited over white.
Image convert_channels(const Image& image, int channels);

/// Resizes so that the shorter side is `size` (aspect ratio kept), then crops the centre
/// size x size square. Area averaging when shrinking, bilinear when enlarging (see above).
Image resize_center_crop(const Image& image, int size);

/// Mirrors the picture left to right.
Image flip_horizontal(const Image& image);

/// Writes the pixels as float in [-1, 1], (C, H, W) planar, to `out` (C * H * W floats).
void image_to_unit_range(const Image& image, float* out);

/// The pixels as a (C, H, W) float32 tensor in [-1, 1].
torch::Tensor image_to_tensor(const Image& image);

/// A (C, H, W) float tensor in [-1, 1] (C = 1, 3 or 4) back to 8-bit pixels, clamped, rounded.
Image tensor_to_image(const torch::Tensor& chw);

}  // namespace fi
