// Measurements on gray (1, H, W) images in [-1, 1] (background -1) that the prompt tasks and
// their judges share: the brightness-weighted centroid, PSNR over a region, an edge sketch and
// the agreement of two sketches, and integer shifts.
#pragma once

#include <torch/types.h>

#include "flowinone/prompts/prompt_canvas.h"

namespace fi {

/// PSNR reported for identical regions (instead of infinity).
constexpr double kMaxPsnrDb = 100.0;

struct BrightMass {
  CanvasPoint centroid;  // brightness-weighted mean of pixel centres (NaN when mass is 0)
  double mass = 0;       // sum of the weights (v + 1) / 2 over the pixels counted
};

/// The centroid of the pixels brighter than `threshold`, each weighted by (v + 1) / 2.
/// For an anti-aliased dot on a -1 background this is the dot's centre.
BrightMass bright_mass(const torch::Tensor& image, double threshold = -0.9);

/// PSNR in dB between `a` and `b` (value range 2) over the pixels where `region` (bool, same
/// shape) is true: 10 log10(4 / mse); kMaxPsnrDb when they agree exactly. Throws
/// std::invalid_argument for mismatched shapes or an empty region.
double psnr_db(const torch::Tensor& a, const torch::Tensor& b, const torch::Tensor& region);

/// An edge sketch: +1 where the Sobel gradient magnitude of (v + 1) / 2 (normalized so that a
/// unit step gives 1) reaches `threshold`, -1 elsewhere. Same shape as `image`.
torch::Tensor edge_sketch(const torch::Tensor& image, double threshold = 0.35);

/// The F1 score of the edge pixels (> 0) of `candidate` against those of `reference`, each
/// counted as matched when the other has an edge within `tolerance` pixels (chessboard
/// distance). 1 when both are empty, 0 when exactly one is.
double edge_f1(const torch::Tensor& candidate, const torch::Tensor& reference, int tolerance = 1);

/// `image` moved by (dx, dy) pixels: out(x, y) = image(x - dx, y - dy), `fill` where that is
/// outside.
torch::Tensor shift_image(const torch::Tensor& image, int dx, int dy, float fill = -1.0f);

}  // namespace fi
