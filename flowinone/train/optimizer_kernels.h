// The optimizer's element-wise arithmetic on plain float arrays: Adam, the EMA of the weights and
// the gradient's sum of squares, each one pass over memory.
//
// Why not tensor operations: a 2D model's parameters are ~14 small tensors, and Adam, EMA and
// clipping as tensor operations are ~200 dispatches and temporaries a step: a fifth of a step's
// time on an AVX2 2-core machine (docs/results.md). These loops do the same arithmetic. They are
// compiled without FMA contraction and without errno on sqrt (see CMakeLists.txt), so they
// vectorize and give the same bits on every x86-64 machine.
#pragma once

#include <cstdint>

namespace fi {

struct AdamCoefficients {
  float beta1, beta2;      // moment decays
  float step_size;         // lr / (1 - beta1^k)
  float sqrt_correction2;  // sqrt(1 - beta2^k)
  float eps;
  float decay_factor;           // 1 - lr * weight_decay when decoupled (AdamW), else 1
  float gradient_weight_decay;  // weight_decay added to the gradient when not decoupled
};

/// One Adam(W) update of n parameters `p` with gradient `g` and moments `m`, `v` (in place):
///   p *= decay_factor; g' = g + gradient_weight_decay p
///   m = b1 m + (1 - b1) g';  v = b2 v + (1 - b2) g'^2
///   p -= step_size m / (sqrt(v) / sqrt_correction2 + eps)
void adam_update(float* p, const float* g, float* m, float* v, std::int64_t n,
                 const AdamCoefficients& c);

/// shadow = decay * shadow + (1 - decay) * p, in place.
void ema_update(float* shadow, const float* p, std::int64_t n, float decay);

/// Sum of g[i]^2 in double, in a fixed order (the same on every machine and thread count).
double sum_of_squares(const float* g, std::int64_t n);

/// g *= scale, in place.
void scale_in_place(float* g, std::int64_t n, float scale);

}  // namespace fi
