// The trainer's periodic preview: a picture of what an image model does at this step, written to
// DIR/samples/step_NNNNNNNN.png every sample_every steps. The same noise (seed) every time, so
// successive pictures show the model changing, not the draws.
//
//   class-conditional   one row per class (at most 10), 8 samples each
//   image pairs         8 test inputs (top row) and the model's outputs under them
//   otherwise           64 samples, 8 per row
//
// Models that integrate use Euler with 20 steps and no guidance; flows sample at their temperature.
#pragma once

#include <string>

#include "flowinone/generative/generative_model.h"
#include "flowinone/io/image.h"

namespace fi {

/// The preview picture of an image model. Throws std::invalid_argument for a 2D model.
Image preview_picture(GenerativeModel& model);

/// DIR/samples/step_NNNNNNNN.png
std::string preview_path(const std::string& dir, std::int64_t step);

}  // namespace fi
