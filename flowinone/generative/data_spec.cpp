#include "flowinone/generative/data_spec.h"

#include "flowinone/core/errors.h"
#include "flowinone/data/toy2d.h"
#include "flowinone/generative/model_registry.h"

namespace fi {

namespace {

bool is_toy2d_name(const std::string& name) {
  for (const auto& valid : toy2d_names())
    if (valid == name) return true;
  return false;
}

std::string valid_targets() {
  std::string names;
  for (const auto& name : toy2d_names()) names += name + ", ";
  return names + "fashion-mnist, folder, pairs, visprompt";
}

// "use mlp, realnvp, ..." : the models whose entry has the flag.
std::string models_taking(bool ModelEntry::*takes) {
  std::string names;
  for (const auto& entry : model_registry())
    if (entry.*takes) names += (names.empty() ? "" : ", ") + entry.name;
  return "use " + names;
}

}  // namespace

DataKind data_kind(const RunConfig& config) {
  const std::string& target = config.target;
  if (is_toy2d_name(target)) return DataKind::kToy2d;
  if (target == "fashion-mnist") return DataKind::kFashionMnist;
  if (target == "folder") return DataKind::kFolder;
  if (target == "pairs") return DataKind::kPairs;
  if (target == "visprompt") return DataKind::kVisPrompt;
  throw std::invalid_argument("[config] target: unknown data set '" + target +
                              "' (valid: " + valid_targets() + ")");
}

bool is_image_data(const RunConfig& config) { return data_kind(config) != DataKind::kToy2d; }

bool is_image_pairs(const RunConfig& config) {
  const DataKind kind = data_kind(config);
  return kind == DataKind::kPairs || kind == DataKind::kVisPrompt;
}

std::string pairing_mode(const RunConfig& config) {
  if (!is_image_pairs(config)) return "";
  return config.source == "input" ? "bridge" : "conditional";
}

std::vector<std::int64_t> data_shape(const RunConfig& config) {
  switch (data_kind(config)) {
    case DataKind::kToy2d:
      return {2};
    case DataKind::kFashionMnist:
      return {1, 28, 28};
    case DataKind::kVisPrompt: {
      const std::int64_t size = config.image_size > 0 ? config.image_size : 32;
      return {1, size, size};
    }
    case DataKind::kFolder:
    case DataKind::kPairs:
      return {config.channels > 0 ? config.channels : 3, config.image_size, config.image_size};
  }
  return {};
}

std::int64_t condition_channels(const RunConfig& config) {
  return is_image_pairs(config) ? data_shape(config)[0] : 0;
}

void validate_data_config(const RunConfig& c) {
  const DataKind kind = data_kind(c);
  check_arg(c.label_dropout >= 0 && c.label_dropout < 1,
            "[config] label_dropout must be in [0, 1), got ", c.label_dropout);
  check_arg(c.input_dropout >= 0 && c.input_dropout < 1,
            "[config] input_dropout must be in [0, 1), got ", c.input_dropout);
  check_arg(c.num_workers >= 0 && c.num_workers <= 64,
            "[config] num_workers must be in [0, 64], got ", c.num_workers);
  check_arg(c.random_flip == 0 || c.random_flip == 1, "[config] random_flip must be 0 or 1, got ",
            c.random_flip);
  check_arg(c.num_classes >= 0 && c.num_classes <= 100000,
            "[config] num_classes must be in [0, 100000], got ", c.num_classes);
  if (kind == DataKind::kToy2d) {
    check_arg(is_toy2d_name(c.source), "[config] source: '", c.source,
              "' is not a 2D data set, which a 2D target needs (valid: ", valid_targets(), ")");
    check_arg(c.num_classes == 0, "[config] num_classes: the 2D data sets have no classes");
    check_arg(c.sample_every == 0, "[config] sample_every: previews are pictures of image ",
              "models; 2D models are drawn by `flowinone viz`");
    check_arg(find_model(c.model).takes_points, "[config] model: ", c.model,
              " takes images, not 2D points (", models_taking(&ModelEntry::takes_points), ")");
    return;
  }
  // Images.
  check_arg(c.source == "gaussian" || (c.source == "input" && is_image_pairs(c)),
            "[config] source: image data flows from gaussian noise",
            is_image_pairs(c) ? " or from the input picture (input)" : "", ", got '", c.source,
            "'");
  bool ModelEntry::*takes =
      is_image_pairs(c) ? &ModelEntry::takes_image_pairs : &ModelEntry::takes_images;
  check_arg(find_model(c.model).*takes, "[config] model '", c.model, "' does not take ",
            is_image_pairs(c) ? "image pairs" : "images", " (", models_taking(takes), ")");
  check_arg(c.image_size >= 0 && c.image_size <= 4096,
            "[config] image_size must be in [0, 4096], got ", c.image_size);
  check_arg(c.channels == 0 || c.channels == 1 || c.channels == 3,
            "[config] channels must be 0 (the data's own), 1 or 3, got ", c.channels);
  if (c.source == "input") {
    check_arg(c.coupling == "independent", "[config] coupling: with source = input each input is ",
              "paired with its own output, so coupling must be independent, got '", c.coupling,
              "'");
  }
  switch (kind) {
    case DataKind::kFashionMnist:
      check_arg(c.image_size == 0 || c.image_size == 28,
                "[config] image_size: Fashion-MNIST is 28x28, got ", c.image_size);
      check_arg(c.channels == 0 || c.channels == 1,
                "[config] channels: Fashion-MNIST is gray (1), got ", c.channels);
      check_arg(c.num_classes == 0 || c.num_classes == 10,
                "[config] num_classes: Fashion-MNIST has 10 classes (or 0 for an unconditional ",
                "model), got ", c.num_classes);
      break;
    case DataKind::kVisPrompt:
      check_arg(c.image_size == 0 || (c.image_size % 32 == 0 && c.image_size <= 256),
                "[config] image_size: VisPrompt-mini canvases are 32, 64, ... 256 px, got ",
                c.image_size);
      check_arg(c.channels == 0 || c.channels == 1, "[config] channels: VisPrompt-mini is gray");
      check_arg(c.num_classes == 0, "[config] num_classes: VisPrompt-mini prompts are pictures, ",
                "not labels: set num_classes = 0");
      break;
    case DataKind::kFolder:
    case DataKind::kPairs:
      check_arg(!c.data_dir.empty(), "[config] data_dir: target ", c.target,
                " needs the folder of pictures");
      check_arg(c.image_size >= 1, "[config] image_size: target ", c.target,
                " needs the side the pictures are resized to");
      if (kind == DataKind::kPairs)
        check_arg(c.num_classes == 0, "[config] num_classes: image pairs have no classes");
      break;
    case DataKind::kToy2d:
      break;
  }
}

}  // namespace fi
