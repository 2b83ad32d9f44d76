// The 2D plots. Each maps the square [-extent, extent]^2 onto a size x size canvas with y up.
#include "flowinone/viz/plots2d.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "flowinone/core/errors.h"
#include "flowinone/fonts/bitmap_font.h"
#include "flowinone/viz/canvas.h"

namespace fi {
namespace {

constexpr Color kFrameGray{200, 200, 200};
constexpr Color kPathGray{110, 110, 110};
constexpr Color kStartBlue{31, 119, 180};
constexpr Color kEndOrange{230, 85, 13};
constexpr Color kDotBlue{40, 80, 160};

void check_options(const PlotOptions& options, const char* op) {
  check_arg(options.size >= 16 && options.size <= 16384, "[", op,
            "] plot size must be in [16, 16384], got ", options.size);
  check_arg(std::isfinite(options.extent) && options.extent > 0, "[", op,
            "] extent must be positive, got ", options.extent);
}

// (N, 2) points as a flat CPU double buffer.
std::vector<double> host_points(const torch::Tensor& points, const char* op) {
  check_arg(points.defined() && points.dim() == 2 && points.size(1) == 2, "[", op,
            "] points must have shape (N, 2), got ",
            points.defined() ? points.sizes() : torch::IntArrayRef{});
  const torch::Tensor host = points.detach().to(torch::kCPU).to(torch::kFloat64).contiguous();
  const double* data = host.data_ptr<double>();
  return std::vector<double>(data, data + host.numel());
}

// World coordinates to canvas pixels.
struct Frame {
  double extent;
  int size;
  double px(double x) const { return (x + extent) / (2 * extent) * size; }
  double py(double y) const { return (extent - y) / (2 * extent) * size; }
  double pixels_per_unit() const { return size / (2 * extent); }
};

void draw_border(Canvas& canvas) {
  const int w = canvas.width();
  const int h = canvas.height();
  canvas.fill_rect(0, 0, w, 1, kFrameGray);
  canvas.fill_rect(0, h - 1, w, h, kFrameGray);
  canvas.fill_rect(0, 0, 1, h, kFrameGray);
  canvas.fill_rect(w - 1, 0, w, h, kFrameGray);
}

double dot_radius(int size) { return std::max(1.0, size / 220.0); }

Image to_rgb(const Image& image) {
  if (image.channels == 3) return image;
  Image rgb(image.width, image.height, 3);
  for (int y = 0; y < image.height; ++y) {
    for (int x = 0; x < image.width; ++x) {
      const std::uint8_t* p = image.at(x, y);
      std::uint8_t* q = rgb.at(x, y);
      for (int c = 0; c < 3; ++c) q[c] = image.channels == 1 ? p[0] : p[c];
      if (image.channels == 4) {  // composite over white
        for (int c = 0; c < 3; ++c) q[c] = std::uint8_t((p[c] * p[3] + 255 * (255 - p[3])) / 255);
      }
    }
  }
  return rgb;
}

}  // namespace

Image density_image(const torch::Tensor& points, const PlotOptions& options) {
  check_options(options, "density_image");
  const std::vector<double> xy = host_points(points, "density_image");
  // Bins of about 4x4 pixels, so a few thousand samples already show the shape.
  const int bins = std::clamp(options.size / 4, 8, 256);
  std::vector<double> counts(std::size_t(bins) * bins, 0.0);
  const double scale = bins / (2 * options.extent);
  for (std::size_t i = 0; i + 1 < xy.size(); i += 2) {
    const double bx = (xy[i] + options.extent) * scale;
    const double by = (options.extent - xy[i + 1]) * scale;
    if (!(bx >= 0 && bx < bins && by >= 0 && by < bins)) continue;  // also drops NaN
    counts[std::size_t(by) * bins + std::size_t(bx)] += 1;
  }
  const double max_count = *std::max_element(counts.begin(), counts.end());
  Canvas canvas(options.size, options.size);
  if (max_count > 0) {
    const double log_max = std::log1p(max_count);
    for (int y = 0; y < options.size; ++y) {
      const int by = std::min(bins - 1, y * bins / options.size);
      for (int x = 0; x < options.size; ++x) {
        const double count =
            counts[std::size_t(by) * bins + std::min(bins - 1, x * bins / options.size)];
        if (count == 0) continue;
        canvas.blend_pixel(x, y, colormap_viridis(std::log1p(count) / log_max));
      }
    }
  }
  draw_border(canvas);
  return std::move(canvas.image());
}

Image side_by_side(const std::vector<Image>& images, const std::vector<std::string>& titles) {
  check_arg(!images.empty(), "[side_by_side] no images");
  check_arg(titles.empty() || titles.size() == images.size(), "[side_by_side] ", titles.size(),
            " titles for ", images.size(), " images");
  const int height = images.front().height;
  constexpr int kGap = 8;
  int width = -kGap;
  for (std::size_t i = 0; i < images.size(); ++i) {
    const Image& image = images[i];
    check_arg(image.width > 0 && image.height == height &&
                  image.pixels.size() == std::size_t(image.width) * image.height * image.channels,
              "[side_by_side] image ", i, " is ", image.width, "x", image.height,
              ", expected height ", height);
    width += image.width + kGap;
  }
  const int scale = std::max(1, std::min(3, height / 160));
  const int band = titles.empty() ? 0 : text_height(scale) + 4 * scale + 4;
  Canvas canvas(width, height + band);
  int left = 0;
  for (std::size_t i = 0; i < images.size(); ++i) {
    const Image rgb = to_rgb(images[i]);
    if (!titles.empty()) {
      const int x = left + (rgb.width - text_width(titles[i], scale)) / 2;
      canvas.draw_text(std::max(left, x), 2 * scale + 2, titles[i], kBlack, scale);
    }
    for (int y = 0; y < rgb.height; ++y) {
      std::copy(rgb.at(0, y), rgb.at(0, y) + std::size_t(rgb.width) * 3,
                canvas.image().at(left, y + band));
    }
    left += rgb.width + kGap;
  }
  return std::move(canvas.image());
}

Image stacked_vertically(const std::vector<Image>& images) {
  check_arg(!images.empty(), "[stacked_vertically] no images");
  constexpr int kGap = 8;
  int width = 0, height = -kGap;
  for (std::size_t i = 0; i < images.size(); ++i) {
    const Image& image = images[i];
    check_arg(image.width > 0 && image.height > 0 &&
                  image.pixels.size() == std::size_t(image.width) * image.height * image.channels,
              "[stacked_vertically] image ", i, " is malformed (", image.width, "x", image.height,
              ")");
    width = std::max(width, image.width);
    height += image.height + kGap;
  }
  Canvas canvas(width, height);
  int top = 0;
  for (const Image& image : images) {
    const Image rgb = to_rgb(image);
    for (int y = 0; y < rgb.height; ++y) {
      std::copy(rgb.at(0, y), rgb.at(0, y) + std::size_t(rgb.width) * 3,
                canvas.image().at(0, top + y));
    }
    top += rgb.height + kGap;
  }
  return std::move(canvas.image());
}

Image trajectories_image(const std::vector<torch::Tensor>& trajectory, const PlotOptions& options) {
  check_options(options, "trajectories_image");
  check_arg(!trajectory.empty(), "[trajectories_image] empty trajectory");
  std::vector<std::vector<double>> states;
  for (const torch::Tensor& state : trajectory) {
    states.push_back(host_points(state, "trajectories_image"));
    check_arg(states.back().size() == states.front().size(), "[trajectories_image] state ",
              states.size() - 1, " has ", states.back().size() / 2, " points, expected ",
              states.front().size() / 2);
  }
  const Frame frame{options.extent, options.size};
  Canvas canvas(options.size, options.size);
  const std::size_t num_points = states.front().size() / 2;
  for (std::size_t p = 0; p < num_points; ++p) {
    for (std::size_t k = 1; k < states.size(); ++k) {
      canvas.draw_line(frame.px(states[k - 1][2 * p]), frame.py(states[k - 1][2 * p + 1]),
                       frame.px(states[k][2 * p]), frame.py(states[k][2 * p + 1]), kPathGray, 0.25,
                       1.0);
    }
  }
  const double radius = dot_radius(options.size);
  for (std::size_t p = 0; p < num_points; ++p) {
    canvas.fill_circle(frame.px(states.front()[2 * p]), frame.py(states.front()[2 * p + 1]), radius,
                       kStartBlue, 0.8);
  }
  for (std::size_t p = 0; p < num_points; ++p) {
    canvas.fill_circle(frame.px(states.back()[2 * p]), frame.py(states.back()[2 * p + 1]), radius,
                       kEndOrange, 0.8);
  }
  draw_border(canvas);
  return std::move(canvas.image());
}

Image vector_field_image(const VelocityFn& velocity, double t, int grid_size,
                         const PlotOptions& options) {
  check_options(options, "vector_field_image");
  check_arg(bool(velocity), "[vector_field_image] velocity function is empty");
  check_arg(grid_size >= 2 && grid_size <= options.size / 2,
            "[vector_field_image] grid_size must be in [2, size / 2], got ", grid_size);
  // Cell centers, row-major from the top-left, as one (G*G, 2) CPU float batch.
  const double cell = 2 * options.extent / grid_size;
  torch::Tensor grid = torch::empty({std::int64_t(grid_size) * grid_size, 2}, torch::kFloat32);
  float* g = grid.data_ptr<float>();
  for (int row = 0; row < grid_size; ++row) {
    for (int column = 0; column < grid_size; ++column) {
      const std::size_t i = std::size_t(row) * grid_size + column;
      g[2 * i] = float(-options.extent + (column + 0.5) * cell);
      g[2 * i + 1] = float(options.extent - (row + 0.5) * cell);
    }
  }
  const torch::Tensor result = velocity(grid, t);
  check_arg(result.defined() && result.numel() == grid.numel(),
            "[vector_field_image] velocity returned shape ",
            result.defined() ? result.sizes() : torch::IntArrayRef{}, ", expected (", grid.size(0),
            ", 2)");
  const std::vector<double> v = host_points(result.reshape({-1, 2}), "vector_field_image");
  const std::vector<double> xy = host_points(grid, "vector_field_image");

  double max_speed = 0;
  for (std::size_t i = 0; i < v.size(); i += 2) {
    const double speed = std::hypot(v[i], v[i + 1]);
    if (std::isfinite(speed)) max_speed = std::max(max_speed, speed);
  }
  const Frame frame{options.extent, options.size};
  const double cell_pixels = cell * frame.pixels_per_unit();
  Canvas canvas(options.size, options.size);
  for (std::size_t i = 0; i < v.size(); i += 2) {
    const double speed = std::hypot(v[i], v[i + 1]);
    const double x = frame.px(xy[i]);
    const double y = frame.py(xy[i + 1]);
    if (!std::isfinite(speed) || !(max_speed > 0) || speed < 1e-12 * max_speed) {
      canvas.fill_circle(x, y, 1.0, colormap_viridis(0.0));
      continue;
    }
    // The longest arrow spans 0.9 of a cell; arrows are centered on their grid point.
    const double length = 0.9 * cell_pixels * speed / max_speed;
    const double ux = v[i] / speed;
    const double uy = -v[i + 1] / speed;  // y up in the world, down on the canvas
    const Color color = colormap_viridis(0.15 + 0.85 * speed / max_speed);
    canvas.draw_arrow(x - 0.5 * length * ux, y - 0.5 * length * uy, x + 0.5 * length * ux,
                      y + 0.5 * length * uy, color, std::max(2.5, 0.3 * length),
                      std::max(1.0, options.size / 400.0));
  }
  draw_border(canvas);
  return std::move(canvas.image());
}

std::vector<Image> flow_frames(const std::vector<torch::Tensor>& trajectory,
                               const std::vector<double>& times, const PlotOptions& options) {
  check_options(options, "flow_frames");
  check_arg(!trajectory.empty(), "[flow_frames] empty trajectory");
  check_arg(times.size() == trajectory.size(), "[flow_frames] ", times.size(), " times for ",
            trajectory.size(), " states");
  const Frame frame{options.extent, options.size};
  const int scale = std::max(1, options.size / 256);
  const int bar_height = std::max(3, options.size / 100);
  const int margin = 4 * scale;
  const double t_first = times.front();
  const double span = times.back() - t_first;
  const double radius = dot_radius(options.size);
  std::vector<Image> frames;
  frames.reserve(trajectory.size());
  for (std::size_t k = 0; k < trajectory.size(); ++k) {
    const std::vector<double> xy = host_points(trajectory[k], "flow_frames");
    Canvas canvas(options.size, options.size);
    for (std::size_t i = 0; i + 1 < xy.size(); i += 2) {
      canvas.fill_circle(frame.px(xy[i]), frame.py(xy[i + 1]), radius, kDotBlue, 0.5);
    }
    // Time bar along the bottom edge, and the time as text above it.
    const double progress = span != 0 ? std::clamp((times[k] - t_first) / span, 0.0, 1.0) : 1.0;
    const int bar_top = options.size - margin - bar_height;
    const int bar_width = options.size - 2 * margin;
    canvas.fill_rect(margin, bar_top, margin + bar_width, bar_top + bar_height, kFrameGray);
    canvas.fill_rect(margin, bar_top, margin + int(std::lround(progress * bar_width)),
                     bar_top + bar_height, kEndOrange);
    char label[32];
    std::snprintf(label, sizeof(label), "t = %.2f", times[k]);
    canvas.draw_text(margin, bar_top - margin - text_height(scale), label, kBlack, scale);
    draw_border(canvas);
    frames.push_back(std::move(canvas.image()));
  }
  return frames;
}

}  // namespace fi
