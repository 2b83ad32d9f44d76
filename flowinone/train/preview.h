// The trainer's periodic preview: a picture of what an image model does at this step, written to
// DIR/samples/step_NNNNNNNN.png every sample_every steps. The same noise (seed) every time, so
// successive pictures show the model changing, not the draws.
//
//   class-conditional   one row per class (at most 10), 8 samples each
//   image pairs         8 test inputs (top row) and the model's outputs under them
//   otherwise           64 samples, 8 per row
//
// Velocity models use Euler with 20 steps and no guidance; flows sample at their temperature.
#pragma once

#include <c10/core/Device.h>
#include <torch/nn/module.h>

#include <memory>
#include <string>

#include "flowinone/io/image.h"
#include "flowinone/train/run_config.h"

namespace fi {

/// The preview picture of `model` (a velocity network or a flow for the configuration's image
/// data; on `device`). Throws std::invalid_argument for 2D data.
Image preview_picture(torch::nn::Module& model, const RunConfig& config, const c10::Device& device);

/// DIR/samples/step_NNNNNNNN.png
std::string preview_path(const std::string& dir, std::int64_t step);

}  // namespace fi
