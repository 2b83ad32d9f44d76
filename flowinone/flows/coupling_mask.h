// Binary masks that split x into the part a coupling passes through (mask 1: it conditions the
// network) and the part it transforms (mask 0), as in RealNVP (Dinh et al. 2017):
//   checkerboard  images: (h + w) even; vectors: even indices. Alternate with flip.
//   channel       images only: the first C/2 channels (after a squeeze, each channel is one
//                 pixel of a 2x2 block, so channel couplings mix space too).
//   half          vectors only: the first D/2 coordinates; consecutive layers alternate halves
//                 with flip.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace fi {

enum class MaskKind { kCheckerboard, kChannel, kHalf };
/// "checkerboard", "channel", "half"; throws std::invalid_argument listing the valid names.
MaskKind parse_mask_kind(const std::string& name);
std::string to_string(MaskKind kind);

/// The mask for a per-sample shape (D) or (C, H, W), with a leading batch dimension of 1:
/// (1, D) or (1, C, H, W) float32, 1 = passed through. flip swaps 0 and 1. Throws
/// std::invalid_argument when the kind does not fit the shape or a part would be empty.
torch::Tensor make_coupling_mask(MaskKind kind, const std::vector<std::int64_t>& shape, bool flip);

}  // namespace fi
