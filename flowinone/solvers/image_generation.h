// Generation with a trained image velocity model (the UNet): class-conditional samples and
// image-to-image translation, with classifier-free guidance. The model's configuration says how
// (data_spec.h): the image shape, whether it takes class labels, and whether it flows from the
// input picture (bridge) or from noise with the input as condition channels (conditional).
#pragma once

#include <c10/core/Device.h>

#include <cstdint>

#include "flowinone/models/velocity_model.h"
#include "flowinone/solvers/ode.h"
#include "flowinone/train/run_config.h"

namespace fi {

struct ImageGenerationOptions {
  SolveOptions solve;
  double guidance = 1.0;   // classifier-free guidance weight (1 = plain conditional)
  std::uint64_t seed = 0;  // the source noise
  // Images integrated at once; the noise is drawn for all of them first, so the images do not
  // depend on it. Dopri5 adapts its steps per chunk.
  std::int64_t batch_size = 250;
};

/// n images (n, C, H, W) on `device` from noise; `labels` (n) int64 classes in [0, num_classes)
/// for a class-conditional model (-1 = unconditional), undefined for none. nfe, when given,
/// receives the solver's count (the mean over chunks). Throws std::invalid_argument when the model
/// takes no labels but some are given, or for image pairs (use translate_images).
torch::Tensor generate_images(const VelocityModelPtr& model, const RunConfig& config,
                              std::int64_t n, const torch::Tensor& labels,
                              const ImageGenerationOptions& options, const c10::Device& device,
                              std::int64_t* nfe = nullptr);

/// The model's outputs (B, C, H, W) on `device` for input pictures `inputs` (B, C, H, W) in
/// [-1, 1] of the model's shape. Bridge models start at the inputs (plus the path's sigma of
/// noise); conditional ones at noise. Throws std::invalid_argument for a model that does not
/// translate or inputs of another shape, naming both shapes.
torch::Tensor translate_images(const VelocityModelPtr& model, const RunConfig& config,
                               const torch::Tensor& inputs, const ImageGenerationOptions& options,
                               const c10::Device& device, std::int64_t* nfe = nullptr);

}  // namespace fi
