// Generation with a trained image velocity model (the UNet): class-conditional samples and
// image-to-image translation, with classifier-free guidance. The model's configuration says how
// (data_spec.h): the image shape, whether it takes class labels, and whether it flows from the
// input picture (bridge) or from noise with the input as condition channels (conditional).
#pragma once

#include <c10/core/Device.h>

#include <cstdint>

#include "flowinone/generative/generative_model.h"
#include "flowinone/generative/run_config.h"
#include "flowinone/models/velocity_model.h"

namespace fi {

// options: solve, guidance (1 = plain conditional), seed (the source noise) and batch_size (images
// integrated at once: the noise is drawn for all of them first, so the images do not depend on
// it; Dopri5 adapts its steps per chunk). Temperature does not apply.

/// n images (n, C, H, W) on `device` from noise; `labels` (n) int64 classes in [0, num_classes)
/// for a class-conditional model (-1 = unconditional), undefined for none. nfe, when given,
/// receives the solver's count (the mean over chunks). Throws std::invalid_argument when the model
/// takes no labels but some are given, or for image pairs (use translate_images).
torch::Tensor generate_images(const VelocityModelPtr& model, const RunConfig& config,
                              std::int64_t n, const torch::Tensor& labels,
                              const GenerationOptions& options, const c10::Device& device,
                              std::int64_t* nfe = nullptr);

/// The model's outputs (B, C, H, W) on `device` for input pictures `inputs` (B, C, H, W) in
/// [-1, 1] of the model's shape (on any device). Bridge models start at the inputs (plus the path's
/// sigma of noise); conditional ones at noise. Throws std::invalid_argument for a model that does
/// not translate or inputs of another shape, naming both shapes.
torch::Tensor translate_images(const VelocityModelPtr& model, const RunConfig& config,
                               const torch::Tensor& inputs, const GenerationOptions& options,
                               const c10::Device& device, std::int64_t* nfe = nullptr);

}  // namespace fi
