// A drawing surface for visual prompts: one gray (1, H, W) float tensor in [-1, 1], the value
// range models see. Prompts are drawn in two values, ink and background (+1 on -1 by default,
// or -1 on +1), plus anything between for anti-aliased edges and dim marks.
//
// Coordinates are pixels with (0, 0) the top-left corner of the top-left pixel; pixel (x, y)
// covers [x, x+1) x [y, y+1) and is centred at (x + 0.5, y + 0.5). Shapes with real-valued
// coordinates (dots, lines, arrows, strokes) are anti-aliased by 8x8 supersampling, so the
// brightness-weighted centroid of a dot is its centre to a few hundredths of a pixel. Text and
// boxes are pixel-exact. Drawing outside the canvas is clipped, except text, which must fit.
#pragma once

#include <torch/types.h>

#include <string>
#include <vector>

#include "flowinone/fonts/prompt_font.h"

namespace fi {

struct CanvasPoint {
  double x = 0;
  double y = 0;
};

/// Pixels x0 <= x < x1, y0 <= y < y1.
struct PixelRect {
  int x0 = 0;
  int y0 = 0;
  int x1 = 0;
  int y1 = 0;
  int width() const { return x1 - x0; }
  int height() const { return y1 - y0; }
};

class PromptCanvas {
 public:
  /// A height x width canvas filled with `background` (-1 or +1; ink is its opposite).
  /// Throws std::invalid_argument for an empty size or another background.
  PromptCanvas(int height, int width, float background = -1.0f);

  /// Draws on a copy of `image` (1, H, W) float; `background` as above.
  explicit PromptCanvas(const torch::Tensor& image, float background = -1.0f);

  int width() const { return width_; }
  int height() const { return height_; }
  float background() const { return background_; }
  float ink() const { return -background_; }

  /// Mixes `value` into pixel (x, y) with weight `coverage` in [0, 1]; ignores outside pixels.
  void blend(int x, int y, float value, float coverage = 1.0f);

  /// Sets every pixel of `rect` (clipped) to `value`.
  void fill_box(const PixelRect& rect, float value);

  /// The border of `rect`, `thickness` pixels wide, inside the rectangle.
  void outline_box(const PixelRect& rect, float value, int thickness = 1);

  /// A filled disk.
  void draw_dot(CanvasPoint center, double radius, float value);

  /// A segment with round caps, `thickness` pixels wide.
  void draw_line(CanvasPoint from, CanvasPoint to, float value, double thickness = 1.0);

  /// A polyline through `points` with round joins, `thickness` pixels wide (a pen stroke).
  void draw_stroke(const std::vector<CanvasPoint>& points, float value, double thickness = 1.0);

  /// A line from `from` to `to` with a two-stroke head of length `head` at `to`.
  void draw_arrow(CanvasPoint from, CanvasPoint to, float value, double head = 3.0,
                  double thickness = 1.0);

  /// One line of text with its top-left corner at (x, y); returns the pixels it covers.
  /// Throws std::invalid_argument naming the text and the widths when it is wider than the
  /// canvas, or when it does not fit at (x, y).
  PixelRect draw_text(int x, int y, const std::string& text, float value,
                      const TextStyle& style = {});

  /// `text` wrapped to the canvas width (wrap_text) and centred both ways; returns the
  /// pixels the block covers. Throws std::invalid_argument when it does not fit.
  PixelRect draw_text_block(const std::string& text, float value, const TextStyle& style = {});

  /// The image, (1, H, W) float32.
  const torch::Tensor& tensor() const { return image_; }

 private:
  // Blends `value` with the fraction of each pixel's 8x8 subsamples for which `inside` holds,
  // over the pixels of the bounding box [x0, x1] x [y0, y1] (real coordinates).
  template <typename Inside>
  void paint_coverage(double x0, double y0, double x1, double y1, float value, Inside inside);

  int height_ = 0;
  int width_ = 0;
  float background_ = -1.0f;
  torch::Tensor image_;  // (1, H, W) float32, contiguous
  float* pixels_ = nullptr;
};

}  // namespace fi
