// The model directory: a self-describing trained model.
//
//   DIR/model.safetensors   the weights to sample from (the EMA average); metadata "config" holds
//                           the run configuration as JSON, "format" = "flowinone-velocity-1"
//                           (velocity networks) or "flowinone-flow-1" (normalizing flows),
//                           "step" the optimizer steps behind them
//   DIR/config.toml         the same configuration, for people and for `train --config`
//   DIR/train_log.csv       written by the trainer
//   DIR/checkpoint/         the full training state for --resume (train/checkpoint.h)
#pragma once

#include <c10/core/Device.h>

#include <cstdint>
#include <string>

#include "flowinone/flows/flow.h"
#include "flowinone/io/safetensors.h"
#include "flowinone/models/unet.h"
#include "flowinone/models/velocity_model.h"
#include "flowinone/train/run_config.h"

namespace fi {

/// The velocity network the configuration describes (parameters initialized from torch's global
/// generator: seed it first), on the CPU.
VelocityModelPtr build_model(const RunConfig& config);

/// The normalizing flow the configuration describes (is_flow_model(config)), on the CPU;
/// parameters from torch's global generator.
FlowPtr build_flow_model(const RunConfig& config);

/// build_model or build_flow_model, whichever the configuration names.
std::shared_ptr<torch::nn::Module> build_any_model(const RunConfig& config);

/// The UNet options of a configuration with model = unet: its option set, with the data's
/// channels, the classes, the condition channels and base_channels filled in.
UNetOptions unet_options(const RunConfig& config);

/// The model's parameters and buffers by name, for saving.
NamedTensors model_tensors(torch::nn::Module& model);

/// Copies named tensors into the model; every parameter and buffer must be present with its shape
/// and a floating dtype. Throws FileError naming `source` and the tensor.
void load_model_tensors(torch::nn::Module& model,
                        const std::map<std::string, torch::Tensor>& tensors,
                        const std::string& prefix, const std::string& source);

/// Writes model.safetensors and config.toml atomically into `dir`.
void save_model_dir(const std::string& dir, torch::nn::Module& model, const RunConfig& config,
                    std::int64_t step);

struct LoadedModel {
  RunConfig config;
  VelocityModelPtr model;  // velocity networks: in eval mode, on the requested device; else null
  FlowPtr flow;            // normalizing flows: in eval mode, on the requested device; else null
  std::int64_t step = 0;
};

/// Loads DIR/model.safetensors (which carries its configuration). Throws FileError when the
/// directory or file is missing or malformed.
LoadedModel load_model_dir(const std::string& dir, const c10::Device& device);

}  // namespace fi
