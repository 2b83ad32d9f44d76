#include "flowinone/train/model_dir.h"

#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "flowinone/core/atomic_file.h"
#include "flowinone/core/errors.h"
#include "flowinone/flows/flow_builder.h"
#include "flowinone/models/mlp.h"
#include "flowinone/models/unet.h"
#include "flowinone/models/x1_prediction.h"
#include "flowinone/train/data_spec.h"

namespace fi {

namespace {
constexpr const char* kVelocityFormat = "flowinone-velocity-1";
constexpr const char* kFlowFormat = "flowinone-flow-1";

const char* format_of(const RunConfig& config) {
  return is_flow_model(config) ? kFlowFormat : kVelocityFormat;
}
}  // namespace

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

namespace {
VelocityModelPtr build_network(const RunConfig& config) {
  if (config.model == "unet") return std::make_shared<UNetVelocity>(unet_options(config));
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
}  // namespace

VelocityModelPtr build_model(const RunConfig& config) {
  validate_config(config);
  VelocityModelPtr network = build_network(config);
  if (config.prediction == "x1") {
    return std::make_shared<X1PredictionVelocity>(std::move(network), config.x1_floor);
  }
  return network;
}

FlowPtr build_flow_model(const RunConfig& config) {
  validate_config(config);
  check_arg(is_flow_model(config), "[build_flow_model] model '", config.model,
            "' is not a normalizing flow");
  FlowOptions options;
  options.kind = parse_flow_kind(config.model);
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
  return build_flow(options);
}

std::shared_ptr<torch::nn::Module> build_any_model(const RunConfig& config) {
  if (is_flow_model(config)) return build_flow_model(config);
  return build_model(config);
}

NamedTensors model_tensors(torch::nn::Module& model) {
  NamedTensors tensors;
  for (const auto& item : model.named_parameters()) tensors.emplace_back(item.key(), item.value());
  for (const auto& item : model.named_buffers()) tensors.emplace_back(item.key(), item.value());
  return tensors;
}

void load_model_tensors(torch::nn::Module& model,
                        const std::map<std::string, torch::Tensor>& tensors,
                        const std::string& prefix, const std::string& source) {
  torch::NoGradGuard no_grad;
  // Shapes, missing and unexpected tensors all mean the file holds another architecture (or one
  // from another version of the model code): loading part of it would run a different model.
  const char* hint = " (a different architecture, or one written by another version of flowinone)";
  const NamedTensors expected = model_tensors(model);
  std::set<std::string> expected_names;
  for (const auto& item : expected) expected_names.insert(prefix + item.first);
  for (const auto& item : tensors) {
    if (item.first.compare(0, prefix.size(), prefix) != 0) continue;
    check_file(expected_names.count(item.first) > 0, "[load_model] ", source,
               ": unexpected tensor '", item.first, "'", hint);
  }
  for (auto& [name, target] : expected) {
    auto it = tensors.find(prefix + name);
    check_file(it != tensors.end(), "[load_model] ", source, ": missing tensor '", prefix + name,
               "'", hint);
    const torch::Tensor& value = it->second;
    check_file(value.sizes() == target.sizes(), "[load_model] ", source, ": tensor '",
               prefix + name, "' has shape ", value.sizes(), ", the model expects ", target.sizes(),
               hint);
    check_file(value.is_floating_point(), "[load_model] ", source, ": tensor '", prefix + name,
               "' has dtype ", value.scalar_type(), ", expected a floating type");
    target.copy_(value);
  }
}

void save_model_dir(const std::string& dir, torch::nn::Module& model, const RunConfig& config,
                    std::int64_t step) {
  ensure_directory(dir);
  const std::map<std::string, std::string> metadata = {{"format", format_of(config)},
                                                       {"config", config_to_json(config).dump()},
                                                       {"step", std::to_string(step)}};
  save_safetensors(dir + "/model.safetensors", model_tensors(model), metadata);
  write_file_atomic(dir + "/config.toml", config_to_toml(config));
}

LoadedModel load_model_dir(const std::string& dir, const c10::Device& device) {
  namespace fs = std::filesystem;
  check_file(fs::is_directory(dir), "[--model] ", dir, ": no such model directory");
  const std::string path = dir + "/model.safetensors";
  check_file(fs::exists(path), "[--model] ", dir, ": no model.safetensors in it (train one with ",
             "`flowinone train --out ", dir, "`)");
  SafetensorsContents contents = load_safetensors(path);
  auto format = contents.metadata.find("format");
  check_file(format != contents.metadata.end() &&
                 (format->second == kVelocityFormat || format->second == kFlowFormat),
             "[load_model] ", path, ": not a flowinone model (metadata format is neither ",
             kVelocityFormat, " nor ", kFlowFormat, ")");
  auto config_text = contents.metadata.find("config");
  check_file(config_text != contents.metadata.end(), "[load_model] ", path,
             ": metadata has no config");
  LoadedModel loaded;
  try {
    loaded.config = config_from_json(nlohmann::json::parse(config_text->second));
    validate_config(loaded.config);
  } catch (const std::exception& error) {
    throw FileError("[load_model] " + path + ": bad config in metadata: " + error.what());
  }
  auto step = contents.metadata.find("step");
  if (step != contents.metadata.end()) {
    char* end = nullptr;
    loaded.step = std::strtoll(step->second.c_str(), &end, 10);
    check_file(!step->second.empty() && *end == '\0' && loaded.step >= 0, "[load_model] ", path,
               ": metadata step '", step->second, "' is not a step count");
  }
  check_file(format->second == format_of(loaded.config), "[load_model] ", path, ": format ",
             format->second, " does not match its model '", loaded.config.model, "'");
  if (is_flow_model(loaded.config)) {
    loaded.flow = build_flow_model(loaded.config);
    load_model_tensors(*loaded.flow, contents.tensors, "", path);
    loaded.flow->to(device);
    loaded.flow->eval();
  } else {
    loaded.model = build_model(loaded.config);
    load_model_tensors(*loaded.model, contents.tensors, "", path);
    loaded.model->to(device);
    loaded.model->eval();
  }
  return loaded;
}

}  // namespace fi
