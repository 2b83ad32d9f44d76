// A small RGB drawing surface for the plots: alpha-blended, anti-aliased lines, dots, arrows and
// bitmap text. Coordinates are pixels with (0, 0) the top-left corner of the top-left pixel;
// pixel (x, y) is centered at (x + 0.5, y + 0.5). Drawing outside the canvas is clipped.
#pragma once

#include <cstdint>
#include <string>

#include "flowinone/io/image.h"

namespace fi {

struct Color {
  std::uint8_t r = 0;
  std::uint8_t g = 0;
  std::uint8_t b = 0;
};

constexpr Color kWhite{255, 255, 255};
constexpr Color kBlack{0, 0, 0};

/// A viridis-like perceptual color for `value` in [0, 1] (clamped): dark purple to yellow.
Color colormap_viridis(double value);

class Canvas {
 public:
  /// A width x height canvas filled with `background`; throws std::invalid_argument if empty.
  Canvas(int width, int height, Color background = kWhite);

  int width() const { return image_.width; }
  int height() const { return image_.height; }

  /// Mixes `color` into pixel (x, y) with weight `alpha` in [0, 1]; ignores pixels outside.
  void blend_pixel(int x, int y, Color color, double alpha = 1.0);

  /// Fills the pixels with x0 <= x < x1, y0 <= y < y1.
  void fill_rect(int x0, int y0, int x1, int y1, Color color, double alpha = 1.0);

  /// An anti-aliased segment of the given width from (x0, y0) to (x1, y1).
  void draw_line(double x0, double y0, double x1, double y1, Color color, double alpha = 1.0,
                 double width = 1.0);

  /// An anti-aliased filled disk.
  void fill_circle(double cx, double cy, double radius, Color color, double alpha = 1.0);

  /// A line from (x0, y0) to (x1, y1) with a two-stroke head of length `head` at the end.
  void draw_arrow(double x0, double y0, double x1, double y1, Color color, double head,
                  double width = 1.0);

  /// Text in the built-in 5x7 font with its top-left corner at (x, y), each font pixel a
  /// scale x scale square.
  void draw_text(int x, int y, const std::string& text, Color color, int scale = 1);

  const Image& image() const { return image_; }
  Image& image() { return image_; }

 private:
  Image image_;
};

}  // namespace fi
