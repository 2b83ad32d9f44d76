// The trainer's data: global batches of target examples (with their labels and condition
// images), drawn in a fixed order for the run's seed, and a state that lets a resumed run
// continue with exactly the batches an uninterrupted one would have seen.
//
//   2D data         x1 from the toy2d sampler, drawn from the trainer's generator
//   fashion-mnist,  x1 and labels from a background DataLoader (data/loader.h) over the data
//   folder          set, in the loader's seeded order; its position is the state
//   pairs           x1 = the B pictures, condition = the A pictures, by the same loader
//   visprompt       make_prompt_batch with a seed drawn from the trainer's generator;
//                   x1 = outputs, condition = inputs
//
// The source points x0 are the trainer's business (train/trainer.h), except for image pairs
// trained as a bridge (source = input), where the batch gives x0 = the condition.
#pragma once

#include <ATen/core/Generator.h>
#include <torch/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "flowinone/data/fashion_mnist.h"
#include "flowinone/data/image_dataset.h"
#include "flowinone/generative/run_config.h"
#include "flowinone/io/safetensors.h"
#include "flowinone/prompts/item_source.h"

namespace fi {

struct TrainingBatch {
  torch::Tensor x1;         // (B, ...) float32: the examples
  torch::Tensor labels;     // (B) int64 classes, or undefined when the model takes none
  torch::Tensor condition;  // (B, Cc, H, W) float32 condition images, or undefined
  torch::Tensor x0;  // (B, ...) source points when the data fixes them (bridge), else undefined
};

class TrainingData {
 public:
  virtual ~TrainingData() = default;
  /// The next batch of `size` examples (on the CPU). Draws, if any, come from `generator`.
  virtual TrainingBatch next(std::int64_t size, at::Generator& generator) = 0;
  /// `size` examples (x1, and labels when the model takes them) for data-dependent initialization
  /// (ActNorm), drawn from `generator` without advancing the training order.
  virtual TrainingBatch initialization_batch(std::int64_t size, at::Generator& generator) = 0;
  /// What a checkpoint must hold beyond the trainer's generator (the loader's position).
  virtual NamedTensors state() const { return {}; }
  /// Restores state(); throws FileError naming `source` when it is missing or malformed.
  virtual void load_state(const std::map<std::string, torch::Tensor>& tensors,
                          const std::string& source) {}
};

/// The configuration's training data, yielding batches of `batch_size` (the global batch: every
/// rank reads all of it and keeps its rows). Throws FileError when the files are missing or
/// wrong, std::invalid_argument when they do not match the configuration (size, classes).
std::unique_ptr<TrainingData> make_training_data(const RunConfig& config, std::int64_t batch_size);

/// The configuration's labelled image data set (fashion-mnist, folder, pairs) for `split`
/// (folders have only a training split: kTest gives the same pictures). Throws like
/// make_training_data.
std::shared_ptr<const ImageDataset> open_image_dataset(const RunConfig& config, Split split);

/// The items VisPrompt-mini pairs are drawn from: Fashion-MNIST's `split` from data_dir (or
/// Debian's), or drawn shapes when data_dir is "synthetic".
std::unique_ptr<ItemSource> open_prompt_items(const RunConfig& config, Split split);

}  // namespace fi
