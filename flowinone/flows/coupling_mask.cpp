#include "flowinone/flows/coupling_mask.h"

#include "flowinone/core/errors.h"
#include "flowinone/core/named_values.h"

namespace fi {

namespace {
constexpr NamedValue<MaskKind> kMaskNames[] = {{MaskKind::kCheckerboard, "checkerboard"},
                                               {MaskKind::kChannel, "channel"},
                                               {MaskKind::kHalf, "half"}};
}  // namespace

MaskKind parse_mask_kind(const std::string& name) { return parse_named(kMaskNames, name, "mask"); }

std::string to_string(MaskKind kind) { return name_of(kMaskNames, kind); }

torch::Tensor make_coupling_mask(MaskKind kind, const std::vector<std::int64_t>& shape, bool flip) {
  check_arg(shape.size() == 1 || shape.size() == 3, "[mask] shape must be (D) or (C, H, W), got ",
            shape.size(), " dimensions");
  for (const auto d : shape) check_arg(d >= 1, "[mask] shape entries must be >= 1, got ", d);
  torch::Tensor mask;
  if (shape.size() == 1) {
    const std::int64_t dim = shape[0];
    check_arg(dim >= 2, "[mask] a vector coupling needs at least 2 dimensions, got ", dim);
    const auto index = torch::arange(dim);
    if (kind == MaskKind::kCheckerboard) {
      mask = (index.remainder(2) == 0);
    } else if (kind == MaskKind::kHalf) {
      mask = (index < dim / 2);
    } else {
      throw std::invalid_argument("[mask] the channel mask needs an image shape (C, H, W)");
    }
    mask = mask.view({1, dim});
  } else {
    const std::int64_t channels = shape[0], height = shape[1], width = shape[2];
    if (kind == MaskKind::kCheckerboard) {
      check_arg(height * width >= 2, "[mask] a checkerboard needs at least 2 pixels, got ", height,
                "x", width);
      const auto rows = torch::arange(height).view({height, 1});
      const auto cols = torch::arange(width).view({1, width});
      mask = ((rows + cols).remainder(2) == 0)
                 .view({1, 1, height, width})
                 .expand({1, channels, height, width});
    } else if (kind == MaskKind::kChannel) {
      check_arg(channels >= 2, "[mask] the channel mask needs at least 2 channels, got ", channels);
      mask = (torch::arange(channels) < channels / 2)
                 .view({1, channels, 1, 1})
                 .expand({1, channels, height, width});
    } else {
      throw std::invalid_argument("[mask] the half mask is for vectors; images use channel");
    }
  }
  mask = mask.to(torch::kFloat32).contiguous();
  return flip ? 1.0 - mask : mask;
}

}  // namespace fi
