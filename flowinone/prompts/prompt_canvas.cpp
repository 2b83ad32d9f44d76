#include "flowinone/prompts/prompt_canvas.h"

#include <algorithm>
#include <cmath>

#include "flowinone/core/errors.h"

namespace fi {
namespace {

constexpr int kSubsamples = 8;  // per axis, for anti-aliased coverage
constexpr double kPi = 3.14159265358979323846;

double squared_distance_to_segment(double px, double py, CanvasPoint a, CanvasPoint b) {
  const double dx = b.x - a.x;
  const double dy = b.y - a.y;
  const double length2 = dx * dx + dy * dy;
  double t = length2 > 0 ? ((px - a.x) * dx + (py - a.y) * dy) / length2 : 0.0;
  t = std::clamp(t, 0.0, 1.0);
  const double ex = px - (a.x + t * dx);
  const double ey = py - (a.y + t * dy);
  return ex * ex + ey * ey;
}

void check_background(float background, const char* where) {
  check_arg(background == -1.0f || background == 1.0f, "[", where, "] background ", background,
            " must be -1 or +1");
}

}  // namespace

PromptCanvas::PromptCanvas(int height, int width, float background)
    : height_(height), width_(width), background_(background) {
  check_arg(height > 0 && width > 0, "[PromptCanvas] size ", height, "x", width,
            " must be positive");
  check_background(background, "PromptCanvas");
  image_ = torch::full({1, height, width}, background, torch::kFloat32);
  pixels_ = image_.data_ptr<float>();
}

PromptCanvas::PromptCanvas(const torch::Tensor& image, float background) : background_(background) {
  check_arg(image.defined() && image.dim() == 3 && image.size(0) == 1 && image.size(1) > 0 &&
                image.size(2) > 0,
            "[PromptCanvas] image must be (1, H, W), got ",
            image.defined() ? image.sizes() : c10::IntArrayRef{});
  check_background(background, "PromptCanvas");
  image_ = image.detach().to(torch::kCPU, torch::kFloat32).contiguous().clone();
  height_ = int(image_.size(1));
  width_ = int(image_.size(2));
  pixels_ = image_.data_ptr<float>();
}

void PromptCanvas::blend(int x, int y, float value, float coverage) {
  if (x < 0 || y < 0 || x >= width_ || y >= height_ || coverage <= 0) return;
  float& pixel = pixels_[std::size_t(y) * width_ + x];
  pixel = coverage >= 1 ? value : pixel + (value - pixel) * coverage;
}

void PromptCanvas::fill_box(const PixelRect& rect, float value) {
  for (int y = std::max(rect.y0, 0); y < std::min(rect.y1, height_); ++y) {
    for (int x = std::max(rect.x0, 0); x < std::min(rect.x1, width_); ++x) {
      pixels_[std::size_t(y) * width_ + x] = value;
    }
  }
}

void PromptCanvas::outline_box(const PixelRect& rect, float value, int thickness) {
  check_arg(thickness >= 1, "[outline_box] thickness ", thickness, " must be at least 1");
  const int t = std::min({thickness, std::max(rect.width(), 0), std::max(rect.height(), 0)});
  fill_box({rect.x0, rect.y0, rect.x1, rect.y0 + t}, value);
  fill_box({rect.x0, rect.y1 - t, rect.x1, rect.y1}, value);
  fill_box({rect.x0, rect.y0, rect.x0 + t, rect.y1}, value);
  fill_box({rect.x1 - t, rect.y0, rect.x1, rect.y1}, value);
}

template <typename Inside>
void PromptCanvas::paint_coverage(double x0, double y0, double x1, double y1, float value,
                                  Inside inside) {
  const int px0 = std::max(0, int(std::floor(x0)));
  const int py0 = std::max(0, int(std::floor(y0)));
  const int px1 = std::min(width_ - 1, int(std::floor(x1)));
  const int py1 = std::min(height_ - 1, int(std::floor(y1)));
  for (int y = py0; y <= py1; ++y) {
    for (int x = px0; x <= px1; ++x) {
      int hits = 0;
      for (int sy = 0; sy < kSubsamples; ++sy) {
        for (int sx = 0; sx < kSubsamples; ++sx) {
          hits += inside(x + (sx + 0.5) / kSubsamples, y + (sy + 0.5) / kSubsamples) ? 1 : 0;
        }
      }
      blend(x, y, value, float(hits) / (kSubsamples * kSubsamples));
    }
  }
}

void PromptCanvas::draw_dot(CanvasPoint center, double radius, float value) {
  check_arg(radius > 0, "[draw_dot] radius ", radius, " must be positive");
  const double r2 = radius * radius;
  paint_coverage(center.x - radius, center.y - radius, center.x + radius, center.y + radius, value,
                 [&](double px, double py) {
                   const double dx = px - center.x;
                   const double dy = py - center.y;
                   return dx * dx + dy * dy <= r2;
                 });
}

void PromptCanvas::draw_line(CanvasPoint from, CanvasPoint to, float value, double thickness) {
  draw_stroke({from, to}, value, thickness);
}

void PromptCanvas::draw_stroke(const std::vector<CanvasPoint>& points, float value,
                               double thickness) {
  check_arg(thickness > 0, "[draw_stroke] thickness ", thickness, " must be positive");
  if (points.empty()) return;
  const double half = thickness / 2;
  double x0 = points[0].x, x1 = points[0].x, y0 = points[0].y, y1 = points[0].y;
  for (const auto& p : points) {
    x0 = std::min(x0, p.x), x1 = std::max(x1, p.x);
    y0 = std::min(y0, p.y), y1 = std::max(y1, p.y);
  }
  // One coverage for the whole polyline, so that joins are not blended twice.
  const double half2 = half * half;
  paint_coverage(x0 - half, y0 - half, x1 + half, y1 + half, value, [&](double px, double py) {
    if (points.size() == 1)
      return squared_distance_to_segment(px, py, points[0], points[0]) <= half2;
    for (std::size_t i = 0; i + 1 < points.size(); ++i) {
      if (squared_distance_to_segment(px, py, points[i], points[i + 1]) <= half2) return true;
    }
    return false;
  });
}

void PromptCanvas::draw_arrow(CanvasPoint from, CanvasPoint to, float value, double head,
                              double thickness) {
  check_arg(head >= 0, "[draw_arrow] head length ", head, " must be non-negative");
  const double dx = to.x - from.x;
  const double dy = to.y - from.y;
  const double length = std::hypot(dx, dy);
  if (length == 0 || head == 0) {
    draw_line(from, to, value, thickness);
    return;
  }
  // Head strokes at +-30 degrees from the reversed direction.
  const double ux = -dx / length;
  const double uy = -dy / length;
  const double c = std::cos(kPi / 6), s = std::sin(kPi / 6);
  const CanvasPoint left{to.x + head * (c * ux - s * uy), to.y + head * (s * ux + c * uy)};
  const CanvasPoint right{to.x + head * (c * ux + s * uy), to.y + head * (-s * ux + c * uy)};
  const std::vector<std::pair<CanvasPoint, CanvasPoint>> segments = {
      {from, to}, {left, to}, {right, to}};
  const double half2 = thickness * thickness / 4;
  const double x0 = std::min({from.x, to.x, left.x, right.x}) - thickness;
  const double x1 = std::max({from.x, to.x, left.x, right.x}) + thickness;
  const double y0 = std::min({from.y, to.y, left.y, right.y}) - thickness;
  const double y1 = std::max({from.y, to.y, left.y, right.y}) + thickness;
  paint_coverage(x0, y0, x1, y1, value, [&](double px, double py) {
    for (const auto& [a, b] : segments) {
      if (squared_distance_to_segment(px, py, a, b) <= half2) return true;
    }
    return false;
  });
}

PixelRect PromptCanvas::draw_text(int x, int y, const std::string& text, float value,
                                  const TextStyle& style) {
  const int width = text_width(text, style);
  const int height = text_line_height(style);
  check_arg(width <= width_, "[draw_text] text \"", text, "\" is ", width, " px wide at scale ",
            style.scale, " (", to_string(style.face), " font), wider than the ", width_,
            " px canvas");
  check_arg(height <= height_, "[draw_text] text \"", text, "\" is ", height,
            " px tall, taller than the ", height_, " px canvas");
  check_arg(x >= 0 && y >= 0 && x + width <= width_ && y + height <= height_, "[draw_text] text \"",
            text, "\" (", width, "x", height, " px) at (", x, ", ", y, ") does not fit in the ",
            width_, "x", height_, " canvas");
  const int advance = (glyph_width(style.face) + 1) * style.scale;
  for (std::size_t i = 0; i < text.size(); ++i) {
    for (int row = 0; row < glyph_height(style.face); ++row) {
      for (int column = 0; column < glyph_width(style.face); ++column) {
        if (!glyph_ink(style.face, text[i], column, row)) continue;
        const int gx = x + int(i) * advance + column * style.scale;
        const int gy = y + row * style.scale;
        fill_box({gx, gy, gx + style.scale, gy + style.scale}, value);
      }
    }
  }
  return {x, y, x + width, y + height};
}

PixelRect PromptCanvas::draw_text_block(const std::string& text, float value,
                                        const TextStyle& style) {
  const std::vector<std::string> lines = wrap_text(text, style, width_);
  const int block_height =
      lines.empty() ? 0
                    : int(lines.size() - 1) * text_line_advance(style) + text_line_height(style);
  check_arg(block_height <= height_, "[draw_text_block] text \"", text, "\" needs ", lines.size(),
            " lines, ", block_height, " px, taller than the ", height_, " px canvas");
  const int top = (height_ - block_height) / 2;
  PixelRect covered{width_, top, 0, top + block_height};
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const int left = (width_ - text_width(lines[i], style)) / 2;
    const PixelRect line =
        draw_text(left, top + int(i) * text_line_advance(style), lines[i], value, style);
    covered.x0 = std::min(covered.x0, line.x0);
    covered.x1 = std::max(covered.x1, line.x1);
  }
  if (lines.empty()) covered = {0, 0, 0, 0};
  return covered;
}

}  // namespace fi
