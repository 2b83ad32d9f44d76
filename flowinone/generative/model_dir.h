// The model directory: a self-describing trained model.
//
//   DIR/model.safetensors   the weights to sample from (the EMA average); metadata "config" holds
//                           the run configuration as JSON, "format" = "flowinone-velocity-1"
//                           (flow-matching models) or "flowinone-flow-1" (normalizing flows),
//                           "step" the optimizer steps behind them
//   DIR/config.toml         the same configuration, for people and for `train --config`
//   DIR/train_log.csv       written by the trainer
//   DIR/checkpoint/         the full training state for --resume (train/checkpoint.h)
#pragma once

#include <c10/core/Device.h>

#include <cstdint>
#include <map>
#include <string>

#include "flowinone/generative/generative_model.h"
#include "flowinone/generative/run_config.h"
#include "flowinone/io/safetensors.h"

namespace fi {

/// The module's parameters and buffers by name, for saving.
NamedTensors model_tensors(torch::nn::Module& model);

/// Copies named tensors into the module; every parameter and buffer must be present with its
/// shape, floating where the module's is floating and of its exact type otherwise, and no other
/// tensor under `prefix` may be there. Throws FileError naming `source` and the tensor.
void load_model_tensors(torch::nn::Module& model,
                        const std::map<std::string, torch::Tensor>& tensors,
                        const std::string& prefix, const std::string& source);

/// Writes model.safetensors and config.toml atomically into `dir`.
void save_model_dir(const std::string& dir, torch::nn::Module& model, const RunConfig& config,
                    std::int64_t step);

struct LoadedModel {
  RunConfig config;
  GenerativeModelPtr model;  // in eval mode, on the requested device
  std::int64_t step = 0;
};

/// Loads DIR/model.safetensors (which carries its configuration). Throws FileError when the
/// directory or file is missing or malformed.
LoadedModel load_model_dir(const std::string& dir, const c10::Device& device);

}  // namespace fi
