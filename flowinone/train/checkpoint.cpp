#include "flowinone/train/checkpoint.h"

#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>

#include "flowinone/core/atomic_file.h"
#include "flowinone/core/errors.h"
#include "flowinone/core/printable.h"

namespace fi {

namespace {
constexpr const char* kFormat = "flowinone-checkpoint-1";

// The metadata's step: decimal digits only (no sign, no spaces), within int64.
std::int64_t parse_step(const std::string& text, const std::string& path) {
  bool digits = !text.empty() && text.size() <= 18;  // 18 digits always fit an int64
  for (char c : text) digits = digits && c >= '0' && c <= '9';
  check_file(digits, "[load_checkpoint] ", path, ": metadata 'step' is '", printable(text),
             "', expected a non-negative integer of at most 18 digits");
  return std::stoll(text);
}

}  // namespace

std::string checkpoint_path(const std::string& model_dir) {
  return model_dir + "/checkpoint/state.safetensors";
}

void save_checkpoint(const std::string& model_dir, const NamedTensors& tensors,
                     const RunConfig& config, std::int64_t step) {
  save_safetensors(checkpoint_path(model_dir), tensors,
                   {{"format", kFormat},
                    {"config", config_to_json(config).dump()},
                    {"step", std::to_string(step)}});
}

CheckpointContents load_checkpoint(const std::string& model_dir) {
  const std::string path = checkpoint_path(model_dir);
  check_file(std::filesystem::exists(path), "[--resume] ", model_dir,
             ": no checkpoint to resume from (", path, " is missing)");
  return decode_checkpoint(read_file(path), path);
}

CheckpointContents decode_checkpoint(const std::string& bytes, const std::string& path) {
  SafetensorsContents contents = decode_safetensors(bytes, path);
  auto field = [&](const char* key) {
    auto it = contents.metadata.find(key);
    check_file(it != contents.metadata.end(), "[load_checkpoint] ", path, ": metadata lacks '", key,
               "'");
    return it->second;
  };
  check_file(field("format") == kFormat, "[load_checkpoint] ", path,
             ": not a flowinone checkpoint");
  CheckpointContents checkpoint;
  checkpoint.step = parse_step(field("step"), path);
  try {
    checkpoint.config = config_from_json(nlohmann::json::parse(field("config")));
  } catch (const FileError&) {
    throw;
  } catch (const std::exception& error) {
    throw FileError("[load_checkpoint] " + path +
                    ": bad metadata 'config': " + printable(error.what(), 300));
  }
  // NaN or Inf anywhere (weights, averages, Adam's moments) would train on NaN and then write
  // NaN weights over a good model file.
  for (const auto& [name, tensor] : contents.tensors) {
    check_file(!tensor.is_floating_point() || torch::isfinite(tensor).all().item<bool>(),
               "[load_checkpoint] ", path, ": tensor '", printable(name),
               "' holds non-finite values (NaN or Inf): the checkpoint is damaged or was tampered "
               "with");
  }
  checkpoint.tensors = std::move(contents.tensors);
  return checkpoint;
}

std::string first_non_finite(const NamedTensors& tensors) {
  for (const auto& [name, tensor] : tensors) {
    if (tensor.is_floating_point() && !torch::isfinite(tensor).all().item<bool>()) return name;
  }
  return "";
}

}  // namespace fi
