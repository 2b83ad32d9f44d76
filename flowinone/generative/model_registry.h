// The models by name: what `model = NAME` in a configuration builds.
//
// Each entry says the model's family (generative_model.h), which data it takes, the configuration
// keys it reads beyond the shared ones, how to check them, and how to build it. Everything else
// (the trainer's objective, the model-file format, what a command may ask of it) follows from the
// family, so adding a model is its module file (models/ or flows/) plus one entry in
// model_registry.cpp; docs/architecture.md walks through it.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "flowinone/flows/flow.h"
#include "flowinone/generative/generative_model.h"
#include "flowinone/generative/run_config.h"
#include "flowinone/models/unet.h"
#include "flowinone/models/velocity_model.h"

namespace fi {

struct ModelEntry {
  std::string name;
  ModelFamily family = ModelFamily::kFlowMatching;
  std::string help;                // one line: what it is
  bool takes_points = false;       // 2D data sets
  bool takes_images = false;       // image data sets and folders
  bool takes_image_pairs = false;  // input -> output pictures (pairs, visprompt)
  std::vector<std::string> keys;   // the configuration keys it reads beyond the shared ones
  /// Checks its own keys (ranges, names); throws std::invalid_argument naming the key. May be
  /// empty.
  std::function<void(const RunConfig&)> validate;
  /// The untrained model on the CPU; parameters drawn from torch's global generator.
  std::function<GenerativeModelPtr(const RunConfig&)> build;
};

/// Every model, in the order the help lists them.
const std::vector<ModelEntry>& model_registry();

/// The entry named `name`; throws std::invalid_argument listing the names.
const ModelEntry& find_model(const std::string& name);

/// The family of the configuration's model (throws for an unknown model).
ModelFamily model_family(const RunConfig& config);

/// The untrained model the configuration describes (validated first), on the CPU; parameters from
/// torch's global generator: seed it first.
GenerativeModelPtr build_generative_model(const RunConfig& config);

/// The velocity network of a flow-matching configuration (mlp or unet, with its x1-prediction
/// wrapper when prediction = x1), untrained, on the CPU.
VelocityModelPtr build_velocity_network(const RunConfig& config);

/// The normalizing flow of a flow configuration, untrained, on the CPU.
FlowPtr build_flow_model(const RunConfig& config);

/// The UNet options of a configuration with model = unet: its option set, with the data's
/// channels, the classes, the condition channels and base_channels filled in.
UNetOptions unet_options(const RunConfig& config);

}  // namespace fi
