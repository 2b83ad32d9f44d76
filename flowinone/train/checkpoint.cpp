#include "flowinone/train/checkpoint.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "flowinone/core/errors.h"

namespace fi {

namespace {
constexpr const char* kFormat = "flowinone-checkpoint-1";
}

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
  SafetensorsContents contents = load_safetensors(path);
  auto field = [&](const char* key) {
    auto it = contents.metadata.find(key);
    check_file(it != contents.metadata.end(), "[load_checkpoint] ", path, ": metadata lacks '", key,
               "'");
    return it->second;
  };
  check_file(field("format") == kFormat, "[load_checkpoint] ", path,
             ": not a flowinone checkpoint");
  CheckpointContents checkpoint;
  try {
    checkpoint.config = config_from_json(nlohmann::json::parse(field("config")));
    checkpoint.step = std::stoll(field("step"));
  } catch (const FileError&) {
    throw;
  } catch (const std::exception& error) {
    throw FileError("[load_checkpoint] " + path + ": bad metadata: " + error.what());
  }
  checkpoint.tensors = std::move(contents.tensors);
  return checkpoint;
}

}  // namespace fi
