// Flows built from a small options struct, so presets and configs can name them.
//
// Vector data, shape (D), D >= 2:
//   realnvp  num_layers x [ActNorm?, AffineCoupling(mask, alternating)]
//   nice     num_layers x [AdditiveCoupling(mask, alternating)], then ActNorm (NICE's scaling)
//   maf      num_layers x [ActNorm?, MafLayer(order reversed from layer to layer)]
//   glow     num_layers x [ActNorm, InvertibleConv1x1 (a learned linear map), AffineCoupling(half)]
// 8-bit images, shape (C, H, W), H and W divisible by 2^num_levels; every image flow starts with
// Dequantize and LogitTransform, so log_prob is on the 8-bit scale (bits_per_dim.h):
//   realnvp  per level: steps x checkerboard couplings, squeeze, steps x channel couplings, split;
//            then steps + 1 checkerboard couplings (RealNVP's multi-scale architecture; ActNorm
//            before each coupling stands in for its batch norm when `actnorm`)
//   glow     per level: squeeze, steps x [ActNorm, InvertibleConv1x1, AffineCoupling(channel)],
//            split except after the last level (Glow)
//   nice     num_layers additive couplings with alternating checkerboard masks, then ActNorm
//   maf      not for images (std::invalid_argument)
// For 1x28x28 (Fashion-MNIST) and num_levels = 2: 28 -> 14 -> 7 with two squeezes.
// Conditioning: num_classes > 0 gives every coupling network (and split prior) a class embedding;
// cond_channels > 0 an image concatenated on channels (image flows only). Not both.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "flowinone/flows/coupling_mask.h"
#include "flowinone/flows/dequantize.h"
#include "flowinone/flows/flow.h"

namespace fi {

enum class FlowKind { kRealNvp, kMaf, kNice, kGlow };
/// "realnvp", "maf", "nice", "glow"; throws std::invalid_argument listing the valid names.
FlowKind parse_flow_kind(const std::string& name);
std::string to_string(FlowKind kind);

struct FlowOptions {
  FlowKind kind = FlowKind::kRealNvp;
  std::vector<std::int64_t> shape = {2};  // per sample: (D) vectors or (C, H, W) 8-bit images
  int num_layers = 8;                     // vector flows (and image nice): number of steps
  int num_levels = 2;                     // image flows: squeezes (multi-scale levels)
  int steps_per_level = 4;                // image flows: couplings (or Glow steps) per stage
  std::int64_t hidden = 64;               // MLP units or conv channels
  int hidden_layers = 2;                  // MLP / MADE hidden layers (vector flows)
  MaskKind mask = MaskKind::kHalf;        // vector couplings: half or checkerboard
  bool actnorm = true;                    // ActNorm before each vector coupling / MADE, and in
                                          // image realnvp
  double scale_bound = 3.0;               // |log-scale| bound of affine layers and split priors
  std::int64_t num_classes = 0;           // > 0: class-conditional on labels (B) int64
  std::int64_t class_embedding_dim = 16;  // size of each layer's class embedding
  std::int64_t cond_channels = 0;         // > 0: conditioned on an image (B, cond_channels, H', W')
  double logit_alpha = 0.05;              // image flows
  PixelEncoding pixel_encoding = PixelEncoding::kSymmetric;  // image flows: how x holds pixels
  std::uint64_t dequantization_seed = 0;                     // the Dequantize layer's own generator
};

/// Throws std::invalid_argument naming the bad field and value.
void check_flow_options(const FlowOptions& options);

/// The flow these options describe; parameters from torch's global generator.
FlowPtr build_flow(const FlowOptions& options);

}  // namespace fi
