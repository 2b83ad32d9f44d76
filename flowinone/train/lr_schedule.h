// Learning-rate schedule: linear warm-up to the peak, then cosine decay to min_ratio * peak
// (or constant). step counts from 0.
#pragma once

#include <cstdint>

namespace fi {

struct LrSchedule {
  double peak = 1e-3;
  std::int64_t warmup_steps = 0;
  std::int64_t total_steps = 1;
  bool cosine = true;
  double min_ratio = 0.0;

  /// Learning rate for optimizer step `step` (0-based).
  double at(std::int64_t step) const;
};

}  // namespace fi
