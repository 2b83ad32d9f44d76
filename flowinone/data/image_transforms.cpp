#include "flowinone/data/image_transforms.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "flowinone/core/errors.h"

namespace fi {
namespace {

void check_image(const Image& image, const char* op) {
  check_arg(image.width > 0 && image.height > 0 &&
                (image.channels == 1 || image.channels == 3 || image.channels == 4) &&
                image.pixels.size() == std::size_t(image.width) * image.height * image.channels,
            "[", op, "] malformed image ", image.width, "x", image.height, "x", image.channels,
            " with ", image.pixels.size(), " bytes");
}

std::uint8_t to_byte(double value) {
  return std::uint8_t(std::clamp(std::lround(value), 0L, 255L));
}

// One output sample along an axis: sum of weight * source[index] over its taps.
struct Taps {
  std::vector<int> first;      // (out) index of the first source pixel
  std::vector<int> count;      // (out) number of taps
  std::vector<double> weight;  // (out * max_taps)
  int max_taps = 0;
};

// Taps for the output pixels [offset, offset + out) of an axis resized from `in` to `full`.
Taps make_taps(int in, int full, int offset, int out) {
  Taps taps;
  const double scale = double(in) / full;  // source pixels per output pixel
  taps.max_taps = scale > 1 ? int(std::ceil(scale)) + 1 : 2;
  taps.first.resize(out);
  taps.count.resize(out);
  taps.weight.assign(std::size_t(out) * taps.max_taps, 0.0);
  for (int k = 0; k < out; ++k) {
    double* w = taps.weight.data() + std::size_t(k) * taps.max_taps;
    const int j = k + offset;
    if (scale > 1) {
      // Area: output pixel j covers source [j * scale, (j + 1) * scale).
      const double begin = j * scale, end = (j + 1) * scale;
      const int first = int(std::floor(begin));
      const int last = std::min(in - 1, int(std::ceil(end)) - 1);
      taps.first[k] = first;
      taps.count[k] = last - first + 1;
      for (int i = first; i <= last; ++i) {
        const double overlap = std::min(end, i + 1.0) - std::max(begin, double(i));
        w[i - first] = std::max(overlap, 0.0) / scale;
      }
    } else {
      // Bilinear between the two source centres around the output centre.
      const double x = std::clamp((j + 0.5) * scale - 0.5, 0.0, double(in - 1));
      const int i0 = std::min(int(std::floor(x)), in - 1);
      const int i1 = std::min(i0 + 1, in - 1);
      taps.first[k] = i0;
      taps.count[k] = i1 > i0 ? 2 : 1;
      w[0] = taps.count[k] == 2 ? 1.0 - (x - i0) : 1.0;
      if (taps.count[k] == 2) w[1] = x - i0;
    }
  }
  return taps;
}

}  // namespace

Image convert_channels(const Image& image, int channels) {
  check_image(image, "convert_channels");
  check_arg(channels == 1 || channels == 3, "[convert_channels] channels must be 1 or 3, got ",
            channels);
  if (image.channels == channels) return image;
  Image out(image.width, image.height, channels);
  const std::size_t num_pixels = std::size_t(image.width) * image.height;
  const int in_channels = image.channels;
  for (std::size_t p = 0; p < num_pixels; ++p) {
    const std::uint8_t* src = image.pixels.data() + p * in_channels;
    double r = src[0], g = src[0], b = src[0];
    if (in_channels >= 3) {
      g = src[1];
      b = src[2];
    }
    if (in_channels == 4) {
      const double alpha = src[3] / 255.0;
      r = r * alpha + 255.0 * (1 - alpha);
      g = g * alpha + 255.0 * (1 - alpha);
      b = b * alpha + 255.0 * (1 - alpha);
    }
    std::uint8_t* dst = out.pixels.data() + p * channels;
    if (channels == 1) {
      dst[0] = to_byte(0.299 * r + 0.587 * g + 0.114 * b);
    } else {
      dst[0] = to_byte(r);
      dst[1] = to_byte(g);
      dst[2] = to_byte(b);
    }
  }
  return out;
}

Image resize_center_crop(const Image& image, int size) {
  check_image(image, "resize_center_crop");
  check_arg(size >= 1 && size <= 16384, "[resize_center_crop] size must be in 1..16384, got ",
            size);
  // The shorter side becomes `size`; the longer one keeps the aspect ratio (at least `size`).
  int full_width, full_height;
  if (image.width <= image.height) {
    full_width = size;
    full_height = std::max<int>(size, int(std::lround(double(image.height) * size / image.width)));
  } else {
    full_height = size;
    full_width = std::max<int>(size, int(std::lround(double(image.width) * size / image.height)));
  }
  if (image.width == size && image.height == size) return image;
  const Taps across = make_taps(image.width, full_width, (full_width - size) / 2, size);
  const Taps down = make_taps(image.height, full_height, (full_height - size) / 2, size);
  const int c = image.channels;

  // Horizontal pass over the source rows the vertical pass needs, into floats.
  std::vector<double> rows(std::size_t(image.height) * size * c, 0.0);
  for (int y = 0; y < image.height; ++y) {
    const std::uint8_t* src = image.pixels.data() + std::size_t(y) * image.width * c;
    double* dst = rows.data() + std::size_t(y) * size * c;
    for (int k = 0; k < size; ++k) {
      const double* w = across.weight.data() + std::size_t(k) * across.max_taps;
      for (int t = 0; t < across.count[k]; ++t) {
        const std::uint8_t* pixel = src + std::size_t(across.first[k] + t) * c;
        for (int ch = 0; ch < c; ++ch) dst[k * c + ch] += w[t] * pixel[ch];
      }
    }
  }
  Image out(size, size, c);
  std::vector<double> sum(std::size_t(size) * c);
  for (int k = 0; k < size; ++k) {
    std::fill(sum.begin(), sum.end(), 0.0);
    const double* w = down.weight.data() + std::size_t(k) * down.max_taps;
    for (int t = 0; t < down.count[k]; ++t) {
      const double* row = rows.data() + std::size_t(down.first[k] + t) * size * c;
      for (std::size_t i = 0; i < sum.size(); ++i) sum[i] += w[t] * row[i];
    }
    std::uint8_t* dst = out.pixels.data() + std::size_t(k) * size * c;
    for (std::size_t i = 0; i < sum.size(); ++i) dst[i] = to_byte(sum[i]);
  }
  return out;
}

Image flip_horizontal(const Image& image) {
  check_image(image, "flip_horizontal");
  Image out = image;
  const int c = image.channels;
  for (int y = 0; y < image.height; ++y) {
    for (int x = 0; x < image.width; ++x) {
      std::copy_n(image.at(x, y), c, out.at(image.width - 1 - x, y));
    }
  }
  return out;
}

void image_to_unit_range(const Image& image, float* out) {
  check_image(image, "image_to_unit_range");
  const std::size_t plane = std::size_t(image.width) * image.height;
  for (int ch = 0; ch < image.channels; ++ch) {
    for (std::size_t p = 0; p < plane; ++p) {
      out[ch * plane + p] = float(image.pixels[p * image.channels + ch] / 127.5 - 1.0);
    }
  }
}

torch::Tensor image_to_tensor(const Image& image) {
  check_image(image, "image_to_tensor");
  at::Tensor out = at::empty({image.channels, image.height, image.width}, at::kFloat);
  image_to_unit_range(image, out.data_ptr<float>());
  return out;
}

Image tensor_to_image(const torch::Tensor& chw) {
  check_arg(chw.dim() == 3 && (chw.size(0) == 1 || chw.size(0) == 3 || chw.size(0) == 4) &&
                chw.size(1) > 0 && chw.size(2) > 0 && chw.is_floating_point(),
            "[tensor_to_image] expected a float (C, H, W) tensor with C = 1, 3 or 4, got ",
            chw.scalar_type(), " ", chw.sizes());
  const at::Tensor hwc = chw.detach()
                             .to(at::kCPU, at::kFloat)
                             .add(1.0)
                             .mul(127.5)
                             .round()
                             .clamp(0, 255)
                             .to(at::kByte)
                             .permute({1, 2, 0})
                             .contiguous();
  Image image(int(chw.size(2)), int(chw.size(1)), int(chw.size(0)));
  std::copy_n(hwc.data_ptr<std::uint8_t>(), image.pixels.size(), image.pixels.data());
  return image;
}

}  // namespace fi
