// Bounds on the work a caller may ask of a solver: the configuration, the command line and the
// server check requests against them, so that a typo or a hostile file cannot ask for hours.
#pragma once

#include <cstdint>

namespace fi {

/// The most fixed solver steps a run may ask for (sample_steps, --steps): far above any useful
/// figure (a few hundred).
constexpr std::int64_t kMaxSolverSteps = 100000;

}  // namespace fi
