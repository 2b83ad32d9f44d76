#include "flowinone/flows/bits_per_dim.h"

#include <cmath>

#include "flowinone/core/errors.h"

namespace fi {

double bits_per_dim(double nll_nats, std::int64_t num_dims) {
  check_arg(num_dims >= 1, "[bits_per_dim] num_dims must be >= 1, got ", num_dims);
  return nll_nats / (static_cast<double>(num_dims) * std::log(2.0));
}

double nll_unit_to_8bit(double nll_unit_nats, std::int64_t num_dims) {
  check_arg(num_dims >= 1, "[nll_unit_to_8bit] num_dims must be >= 1, got ", num_dims);
  return nll_unit_nats + static_cast<double>(num_dims) * kLog256;
}

}  // namespace fi
