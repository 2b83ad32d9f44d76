#include "flowinone/prompts/image_measures.h"

#include <ATen/ops/conv2d.h>
#include <ATen/ops/max_pool2d.h>

#include <cmath>
#include <limits>

#include "flowinone/core/errors.h"

namespace fi {
namespace {

torch::Tensor as_chw_float(const torch::Tensor& image, const char* where) {
  check_arg(image.defined() && image.dim() == 3 && image.size(0) == 1, "[", where,
            "] image must be (1, H, W), got ",
            image.defined() ? image.sizes() : c10::IntArrayRef{});
  return image.detach().to(torch::kCPU, torch::kFloat32).contiguous();
}

}  // namespace

BrightMass bright_mass(const torch::Tensor& image, double threshold) {
  const torch::Tensor pixels = as_chw_float(image, "bright_mass");
  const int height = int(pixels.size(1));
  const int width = int(pixels.size(2));
  const float* data = pixels.data_ptr<float>();
  double mass = 0, sum_x = 0, sum_y = 0;
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      const double v = data[std::size_t(y) * width + x];
      if (!(v > threshold)) continue;
      const double w = (std::min(v, 1.0) + 1) / 2;
      mass += w;
      sum_x += w * (x + 0.5);
      sum_y += w * (y + 0.5);
    }
  }
  BrightMass result;
  result.mass = mass;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  result.centroid = mass > 0 ? CanvasPoint{sum_x / mass, sum_y / mass} : CanvasPoint{nan, nan};
  return result;
}

double psnr_db(const torch::Tensor& a, const torch::Tensor& b, const torch::Tensor& region) {
  check_arg(a.defined() && b.defined() && region.defined() && a.sizes() == b.sizes() &&
                a.sizes() == region.sizes(),
            "[psnr_db] images and region must have one shape");
  const torch::Tensor keep = region.to(torch::kCPU, torch::kBool);
  const std::int64_t count = keep.sum().item<std::int64_t>();
  check_arg(count > 0, "[psnr_db] the region is empty");
  const torch::Tensor diff =
      a.detach().to(torch::kCPU, torch::kFloat64) - b.detach().to(torch::kCPU, torch::kFloat64);
  const double mse = diff.masked_select(keep).pow(2).mean().item<double>();
  if (mse <= 0) return kMaxPsnrDb;
  return std::min(kMaxPsnrDb, 10.0 * std::log10(4.0 / mse));
}

torch::Tensor edge_sketch(const torch::Tensor& image, double threshold) {
  const torch::Tensor unit = (as_chw_float(image, "edge_sketch") + 1) / 2;  // (1, H, W)
  const torch::Tensor sobel_x =
      torch::tensor({-1.0f, 0.0f, 1.0f, -2.0f, 0.0f, 2.0f, -1.0f, 0.0f, 1.0f}).view({1, 1, 3, 3});
  const torch::Tensor sobel_y = sobel_x.transpose(2, 3).contiguous();
  // Replicating the border would hide an item touching the edge; the background is 0 anyway.
  const torch::Tensor batch = unit.unsqueeze(0);
  const torch::Tensor gx = at::conv2d(batch, sobel_x, {}, 1, 1) / 4;
  const torch::Tensor gy = at::conv2d(batch, sobel_y, {}, 1, 1) / 4;
  const torch::Tensor magnitude = (gx * gx + gy * gy).sqrt().squeeze(0);
  return torch::where(magnitude >= threshold, torch::ones_like(magnitude),
                      -torch::ones_like(magnitude));
}

double edge_f1(const torch::Tensor& candidate, const torch::Tensor& reference, int tolerance) {
  check_arg(tolerance >= 0, "[edge_f1] tolerance ", tolerance, " must be non-negative");
  const torch::Tensor c = as_chw_float(candidate, "edge_f1") > 0;
  const torch::Tensor r = as_chw_float(reference, "edge_f1") > 0;
  check_arg(c.sizes() == r.sizes(), "[edge_f1] the sketches must have one shape");
  const double num_c = c.sum().item<double>();
  const double num_r = r.sum().item<double>();
  if (num_c == 0 && num_r == 0) return 1.0;
  if (num_c == 0 || num_r == 0) return 0.0;
  auto dilate = [tolerance](const torch::Tensor& mask) {
    if (tolerance == 0) return mask;
    const int k = 2 * tolerance + 1;
    return at::max_pool2d(mask.to(torch::kFloat32).unsqueeze(0), {k, k}, {1, 1},
                          {tolerance, tolerance})
               .squeeze(0) > 0;
  };
  const double precision = (c & dilate(r)).sum().item<double>() / num_c;
  const double recall = (r & dilate(c)).sum().item<double>() / num_r;
  if (precision + recall == 0) return 0.0;
  return 2 * precision * recall / (precision + recall);
}

torch::Tensor shift_image(const torch::Tensor& image, int dx, int dy, float fill) {
  const torch::Tensor source = as_chw_float(image, "shift_image");
  const int height = int(source.size(1));
  const int width = int(source.size(2));
  torch::Tensor out = torch::full_like(source, fill);
  const int x0 = std::max(0, dx), x1 = std::min(width, width + dx);
  const int y0 = std::max(0, dy), y1 = std::min(height, height + dy);
  if (x0 < x1 && y0 < y1) {
    out.narrow(1, y0, y1 - y0)
        .narrow(2, x0, x1 - x0)
        .copy_(source.narrow(1, y0 - dy, y1 - y0).narrow(2, x0 - dx, x1 - x0));
  }
  return out;
}

}  // namespace fi
