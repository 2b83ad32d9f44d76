#include "flowinone/viz/canvas.h"

#include <algorithm>
#include <cmath>

#include "flowinone/core/errors.h"
#include "flowinone/fonts/bitmap_font.h"

namespace fi {

Color colormap_viridis(double value) {
  // Nine samples along viridis, linearly interpolated.
  static constexpr std::uint8_t kStops[9][3] = {{68, 1, 84},    {71, 44, 122},  {59, 81, 139},
                                                {44, 113, 142}, {33, 144, 141}, {39, 173, 129},
                                                {92, 200, 99},  {170, 220, 50}, {253, 231, 37}};
  if (!(value > 0.0)) value = 0.0;  // also maps NaN to the bottom
  value = std::min(value, 1.0) * 8.0;
  const int i = std::min(int(value), 7);
  const double f = value - i;
  auto mix = [&](int c) {
    return std::uint8_t(std::lround(kStops[i][c] * (1 - f) + kStops[i + 1][c] * f));
  };
  return Color{mix(0), mix(1), mix(2)};
}

Canvas::Canvas(int width, int height, Color background) {
  check_arg(width > 0 && height > 0, "[Canvas] size must be positive, got ", width, "x", height);
  image_ = Image(width, height, 3);
  for (std::size_t i = 0; i < image_.pixels.size(); i += 3) {
    image_.pixels[i] = background.r;
    image_.pixels[i + 1] = background.g;
    image_.pixels[i + 2] = background.b;
  }
}

void Canvas::blend_pixel(int x, int y, Color color, double alpha) {
  if (x < 0 || y < 0 || x >= image_.width || y >= image_.height || !(alpha > 0.0)) return;
  alpha = std::min(alpha, 1.0);
  std::uint8_t* p = image_.at(x, y);
  const std::uint8_t source[3] = {color.r, color.g, color.b};
  for (int c = 0; c < 3; ++c) {
    p[c] = std::uint8_t(std::lround(p[c] + (source[c] - p[c]) * alpha));
  }
}

void Canvas::fill_rect(int x0, int y0, int x1, int y1, Color color, double alpha) {
  x0 = std::max(x0, 0);
  y0 = std::max(y0, 0);
  x1 = std::min(x1, image_.width);
  y1 = std::min(y1, image_.height);
  for (int y = y0; y < y1; ++y) {
    for (int x = x0; x < x1; ++x) blend_pixel(x, y, color, alpha);
  }
}

void Canvas::draw_line(double x0, double y0, double x1, double y1, Color color, double alpha,
                       double width) {
  if (!std::isfinite(x0) || !std::isfinite(y0) || !std::isfinite(x1) || !std::isfinite(y1)) return;
  // Coverage of each pixel center from its distance to the segment: a one-pixel soft edge.
  const double half = 0.5 * width;
  const double reach = half + 1.0;
  const int px0 = std::max(0, int(std::floor(std::min(x0, x1) - reach)));
  const int px1 = std::min(image_.width - 1, int(std::ceil(std::max(x0, x1) + reach)));
  const int py0 = std::max(0, int(std::floor(std::min(y0, y1) - reach)));
  const int py1 = std::min(image_.height - 1, int(std::ceil(std::max(y0, y1) + reach)));
  const double dx = x1 - x0;
  const double dy = y1 - y0;
  const double length2 = dx * dx + dy * dy;
  for (int y = py0; y <= py1; ++y) {
    for (int x = px0; x <= px1; ++x) {
      const double cx = x + 0.5 - x0;
      const double cy = y + 0.5 - y0;
      const double s = length2 > 0 ? std::clamp((cx * dx + cy * dy) / length2, 0.0, 1.0) : 0.0;
      const double distance = std::hypot(cx - s * dx, cy - s * dy);
      const double coverage = std::clamp(half + 0.5 - distance, 0.0, 1.0);
      if (coverage > 0) blend_pixel(x, y, color, alpha * coverage);
    }
  }
}

void Canvas::fill_circle(double cx, double cy, double radius, Color color, double alpha) {
  if (!std::isfinite(cx) || !std::isfinite(cy) || !(radius > 0)) return;
  const int x0 = std::max(0, int(std::floor(cx - radius - 1)));
  const int x1 = std::min(image_.width - 1, int(std::ceil(cx + radius + 1)));
  const int y0 = std::max(0, int(std::floor(cy - radius - 1)));
  const int y1 = std::min(image_.height - 1, int(std::ceil(cy + radius + 1)));
  for (int y = y0; y <= y1; ++y) {
    for (int x = x0; x <= x1; ++x) {
      const double distance = std::hypot(x + 0.5 - cx, y + 0.5 - cy);
      const double coverage = std::clamp(radius + 0.5 - distance, 0.0, 1.0);
      if (coverage > 0) blend_pixel(x, y, color, alpha * coverage);
    }
  }
}

void Canvas::draw_arrow(double x0, double y0, double x1, double y1, Color color, double head,
                        double width) {
  draw_line(x0, y0, x1, y1, color, 1.0, width);
  const double length = std::hypot(x1 - x0, y1 - y0);
  if (!(length > 0) || !(head > 0)) return;
  const double ux = (x1 - x0) / length;
  const double uy = (y1 - y0) / length;
  const double spread = 0.45;  // half-angle of the head, radians
  const double c = std::cos(spread);
  const double s = std::sin(spread);
  draw_line(x1, y1, x1 - head * (ux * c - uy * s), y1 - head * (uy * c + ux * s), color, 1.0,
            width);
  draw_line(x1, y1, x1 - head * (ux * c + uy * s), y1 - head * (uy * c - ux * s), color, 1.0,
            width);
}

void Canvas::draw_text(int x, int y, const std::string& text, Color color, int scale) {
  check_arg(scale >= 1, "[Canvas::draw_text] scale must be >= 1, got ", scale);
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto& rows = glyph_rows(text[i]);
    const int left = x + int(i) * (kGlyphWidth + 1) * scale;
    for (int row = 0; row < kGlyphHeight; ++row) {
      for (int column = 0; column < kGlyphWidth; ++column) {
        if ((rows[row] >> (kGlyphWidth - 1 - column)) & 1) {
          fill_rect(left + column * scale, y + row * scale, left + (column + 1) * scale,
                    y + (row + 1) * scale, color);
        }
      }
    }
  }
}

}  // namespace fi
