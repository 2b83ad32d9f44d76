#include "flowinone/data/pixels.h"

#include <ATen/ATen.h>

#include "flowinone/core/errors.h"

namespace fi {

torch::Tensor pixels_to_unit_range(const torch::Tensor& pixels) {
  check_arg(pixels.scalar_type() == at::kByte, "[pixels_to_unit_range] expected uint8 pixels, got ",
            pixels.scalar_type());
  return pixels.to(at::kFloat).div(127.5).sub(1.0);
}

torch::Tensor unit_range_to_pixels(const torch::Tensor& values) {
  check_arg(values.is_floating_point(), "[unit_range_to_pixels] expected floating values, got ",
            values.scalar_type());
  return values.to(at::kFloat).add(1.0).mul(127.5).round().clamp(0, 255).to(at::kByte);
}

}  // namespace fi
