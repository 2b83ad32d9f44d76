// Bits per dimension of 8-bit data.
//
// Two scales for the same model are common, and they differ by D * log(256) nats:
//   8-bit scale  the density of k + u in [0, 256)^D (what Flow::log_prob returns for image flows,
//                whose Dequantize layer counts -log 256 per dimension). Its NLL is a bound on
//                -log P(k) of the discrete pixels, so bpd = nll / (D ln 2) directly.
//   unit scale   the density of (k + u) / 256 in [0, 1)^D (a flow without that term, or papers'
//                code that "adds log 256"): nll_8bit = nll_unit + D * log(256).
#pragma once

#include <cstdint>

namespace fi {

/// log(256): the nats per dimension between the unit and the 8-bit scale.
constexpr double kLog256 = 5.545177444479562;

/// Bits per dimension from a per-sample NLL in nats on the 8-bit scale: nll / (D ln 2).
/// Throws std::invalid_argument for num_dims < 1.
double bits_per_dim(double nll_nats, std::int64_t num_dims);

/// The NLL on the 8-bit scale from one on the unit scale: nll_unit + D * log(256).
double nll_unit_to_8bit(double nll_unit_nats, std::int64_t num_dims);

}  // namespace fi
