// Sinusoidal time embedding (Vaswani et al. 2017; as in DDPM and torchcfm's UNet).
//
// For t in [0, 1], scaled by 1000 so the highest frequencies resolve small time differences:
//   emb(t) = [cos(1000 t w_0), ..., cos(1000 t w_{h-1}), sin(1000 t w_0), ..., sin(1000 t
//   w_{h-1})], w_k = max_period^(-k / h),  h = dim / 2.
#pragma once

#include <torch/types.h>

namespace fi {

/// t (B) -> (B, dim); dim must be even and >= 2.
torch::Tensor sinusoidal_time_embedding(const torch::Tensor& t, int dim,
                                        double max_period = 10000.0);

}  // namespace fi
