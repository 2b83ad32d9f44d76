#include "flowinone/generative/model_registry.h"

#include "flowinone/core/errors.h"
#include "flowinone/flows/flow_builder.h"
#include "flowinone/generative/data_spec.h"
#include "flowinone/generative/flow_matching_model.h"
#include "flowinone/generative/normalizing_flow_model.h"
#include "flowinone/models/mlp.h"
#include "flowinone/models/x1_prediction.h"

namespace fi {

namespace {

VelocityModelPtr build_mlp(const RunConfig& config) {
  MlpOptions options;
  options.dim = data_shape(config)[0];
  options.width = config.width;
  options.depth = static_cast<int>(config.depth);
  options.time_dim = static_cast<int>(config.time_dim);
  options.activation = parse_activation(config.activation);
  options.fourier_features = static_cast<int>(config.fourier_features);
  options.fourier_scale = config.fourier_scale;
  return std::make_shared<MlpVelocity>(options);
}

VelocityModelPtr build_unet(const RunConfig& config) {
  return std::make_shared<UNetVelocity>(unet_options(config));
}

void validate_unet(const RunConfig& c) {
  unet_preset(c.unet);  // throws listing the names
  check_arg(c.base_channels == 0 ||
                (c.base_channels >= 2 && c.base_channels % 2 == 0 && c.base_channels <= 1024),
            "[config] base_channels must be 0 (the option set's) or even in [2, 1024], got ",
            c.base_channels);
}

// Every normalizing flow trains by maximum likelihood on the target against its Gaussian base.
void validate_flow(const RunConfig& c) {
  check_arg(c.source == "gaussian", "[config] source: a normalizing flow maps data to its ",
            "standard Gaussian base density, so source must be gaussian, got '", c.source, "'");
  check_arg(c.flow_layers >= 1 && c.flow_layers <= 256,
            "[config] flow_layers must be in [1, 256], got ", c.flow_layers);
  check_arg(c.flow_levels >= 1 && c.flow_levels <= 8,
            "[config] flow_levels must be in [1, 8], got ", c.flow_levels);
  check_arg(c.flow_hidden_layers >= 1 && c.flow_hidden_layers <= 16,
            "[config] flow_hidden_layers must be in [1, 16], got ", c.flow_hidden_layers);
  check_arg(c.scale_bound > 0 && c.scale_bound <= 20,
            "[config] scale_bound must be in (0, 20], got ", c.scale_bound);
  check_arg(c.shards == 1, "[config] shards: a normalizing flow (model = ", c.model,
            ") trains with shards = 1, got ", c.shards);
}

FlowOptions flow_options(const RunConfig& config, FlowKind kind) {
  FlowOptions options;
  options.kind = kind;
  options.shape = data_shape(config);
  options.num_layers = static_cast<int>(config.flow_layers);
  options.hidden = config.width;
  options.hidden_layers = static_cast<int>(config.flow_hidden_layers);
  options.scale_bound = config.scale_bound;
  options.num_classes = config.num_classes;
  if (is_image_data(config)) {
    // Images: flow_levels squeezes, flow_layers couplings (Glow steps) per stage.
    options.num_levels = static_cast<int>(config.flow_levels);
    options.steps_per_level = static_cast<int>(config.flow_layers);
    options.dequantization_seed = static_cast<std::uint64_t>(config.seed) ^ 0xde9a7ULL;
  }
  return options;
}

// A velocity network, wrapped to read its output as the data point when prediction = x1.
GenerativeModelPtr flow_matching(const RunConfig& config, VelocityModelPtr network) {
  if (config.prediction == "x1") {
    network = std::make_shared<X1PredictionVelocity>(std::move(network), config.x1_floor);
  }
  return std::make_shared<FlowMatchingModel>(config, std::move(network));
}

ModelEntry flow_entry(const char* name, FlowKind kind, const char* help, bool takes_images) {
  return {
      name,
      ModelFamily::kNormalizingFlow,
      help,
      true,
      takes_images,
      false,
      {"width", "flow_layers", "flow_hidden_layers", "flow_levels", "scale_bound", "temperature"},
      validate_flow,
      [kind](const RunConfig& config) -> GenerativeModelPtr {
        return std::make_shared<NormalizingFlowModel>(config,
                                                      build_flow(flow_options(config, kind)));
      }};
}

}  // namespace

const std::vector<ModelEntry>& model_registry() {
  static const std::vector<ModelEntry> kModels = {
      {"mlp",
       ModelFamily::kFlowMatching,
       "MLP velocity network of 2D points",
       true,
       false,
       false,
       {"width", "depth", "time_dim", "activation", "fourier_features", "fourier_scale",
        "prediction", "x1_floor"},
       nullptr,
       [](const RunConfig& c) { return flow_matching(c, build_mlp(c)); }},
      {"unet",
       ModelFamily::kFlowMatching,
       "UNet velocity network of images (class labels, condition pictures)",
       false,
       true,
       true,
       {"unet", "base_channels", "prediction", "x1_floor"},
       validate_unet,
       [](const RunConfig& c) { return flow_matching(c, build_unet(c)); }},
      flow_entry("realnvp", FlowKind::kRealNvp, "RealNVP affine couplings (multi-scale on images)",
                 true),
      flow_entry("maf", FlowKind::kMaf, "masked autoregressive flow of 2D points", false),
      flow_entry("nice", FlowKind::kNice, "NICE additive couplings", true),
      flow_entry("glow", FlowKind::kGlow, "Glow: ActNorm, 1x1 convolution, affine coupling", true),
  };
  return kModels;
}

const ModelEntry& find_model(const std::string& name) {
  std::string valid;
  for (const auto& entry : model_registry()) {
    if (entry.name == name) return entry;
    valid += (valid.empty() ? "" : ", ") + entry.name;
  }
  throw std::invalid_argument("[config] model: unknown model '" + name + "' (valid: " + valid +
                              ")");
}

ModelFamily model_family(const RunConfig& config) { return find_model(config.model).family; }

GenerativeModelPtr build_generative_model(const RunConfig& config) {
  validate_config(config);
  return find_model(config.model).build(config);
}

UNetOptions unet_options(const RunConfig& config) {
  UNetOptions options = unet_preset(config.unet);
  const std::vector<std::int64_t> shape = data_shape(config);
  options.in_channels = shape[0];
  options.out_channels = shape[0];
  options.num_classes = config.num_classes;
  options.condition_channels = condition_channels(config);
  if (config.base_channels > 0) options.base_channels = config.base_channels;
  validate_unet_options(options);
  return options;
}

VelocityModelPtr build_velocity_network(const RunConfig& config) {
  const auto model = std::dynamic_pointer_cast<FlowMatchingModel>(build_generative_model(config));
  check_arg(model != nullptr, "[build_velocity_network] model '", config.model,
            "' is not a velocity network");
  return model->network();
}

FlowPtr build_flow_model(const RunConfig& config) {
  const auto model =
      std::dynamic_pointer_cast<NormalizingFlowModel>(build_generative_model(config));
  check_arg(model != nullptr, "[build_flow_model] model '", config.model,
            "' is not a normalizing flow");
  return model->flow();
}

}  // namespace fi
