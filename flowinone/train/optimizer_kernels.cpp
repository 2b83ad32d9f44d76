#include "flowinone/train/optimizer_kernels.h"

#include <cmath>

namespace fi {

void adam_update(float* __restrict__ p, const float* __restrict__ g, float* __restrict__ m,
                 float* __restrict__ v, std::int64_t n, const AdamCoefficients& c) {
  const float one_minus_beta1 = 1.0f - c.beta1;
  const float one_minus_beta2 = 1.0f - c.beta2;
  for (std::int64_t i = 0; i < n; ++i) {
    const float weight = p[i] * c.decay_factor;
    const float grad = g[i] + c.gradient_weight_decay * weight;
    const float first = c.beta1 * m[i] + one_minus_beta1 * grad;
    const float second = c.beta2 * v[i] + one_minus_beta2 * (grad * grad);
    m[i] = first;
    v[i] = second;
    p[i] = weight - c.step_size * first / (std::sqrt(second) / c.sqrt_correction2 + c.eps);
  }
}

void ema_update(float* __restrict__ shadow, const float* __restrict__ p, std::int64_t n,
                float decay) {
  const float rest = 1.0f - decay;
  for (std::int64_t i = 0; i < n; ++i) shadow[i] = decay * shadow[i] + rest * p[i];
}

double sum_of_squares(const float* g, std::int64_t n) {
  // Eight running sums break the chain of dependent additions (a loop with one sum waits on
  // each add); their order is fixed, so the result does not depend on the machine.
  constexpr std::int64_t kLanes = 8;
  double lanes[kLanes] = {};
  std::int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (std::int64_t k = 0; k < kLanes; ++k) {
      const double x = g[i + k];
      lanes[k] += x * x;
    }
  }
  for (; i < n; ++i) {
    const double x = g[i];
    lanes[0] += x * x;
  }
  double total = 0.0;
  for (double lane : lanes) total += lane;
  return total;
}

void scale_in_place(float* g, std::int64_t n, float scale) {
  for (std::int64_t i = 0; i < n; ++i) g[i] *= scale;
}

}  // namespace fi
