#include "flowinone/generative/model_dir.h"

#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "flowinone/core/atomic_file.h"
#include "flowinone/core/errors.h"
#include "flowinone/core/named_values.h"
#include "flowinone/generative/model_registry.h"

namespace fi {

namespace {
// The file format names the family, so a file is refused before a mismatched module is built.
constexpr NamedValue<ModelFamily> kFormats[] = {
    {ModelFamily::kFlowMatching, "flowinone-velocity-1"},
    {ModelFamily::kNormalizingFlow, "flowinone-flow-1"}};

std::string format_of(const RunConfig& config) { return name_of(kFormats, model_family(config)); }
}  // namespace

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
    // Floating weights may come in another floating precision; counters (BatchNorm's
    // num_batches_tracked) must keep their integer type.
    const bool dtype_fits = target.is_floating_point()
                                ? value.is_floating_point()
                                : value.scalar_type() == target.scalar_type();
    check_file(dtype_fits, "[load_model] ", source, ": tensor '", prefix + name, "' has dtype ",
               value.scalar_type(), ", the model expects ", target.scalar_type());
    // NaN or Inf weights would sample NaN points and black pictures with exit 0.
    check_file(!value.is_floating_point() || torch::isfinite(value).all().item<bool>(),
               "[load_model] ", source, ": tensor '", prefix + name,
               "' holds non-finite values (NaN or Inf): the file is damaged or was tampered with");
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
  bool known_format = false;
  for (const auto& entry : kFormats)
    known_format =
        known_format || (format != contents.metadata.end() && format->second == entry.name);
  check_file(known_format, "[load_model] ", path,
             ": not a flowinone model (metadata format is none of ", valid_names(kFormats), ")");
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
  loaded.model = build_generative_model(loaded.config);
  torch::nn::Module& module = loaded.model->module();
  load_model_tensors(module, contents.tensors, "", path);
  module.to(device);
  module.eval();
  return loaded;
}

}  // namespace fi
