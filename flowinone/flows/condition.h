// Conditions that a flow layer's networks may see, and how they are turned into network inputs.
//
//   none   unconditional; cond is an undefined tensor.
//   class  cond is (B) int64 labels in [0, num_classes); each layer learns its own embedding of
//          size embedding_dim, concatenated to a vector network's input, or broadcast over space
//          as embedding_dim constant channels of an image network's input.
//   image  cond is (B, image_channels, H', W') float; an image network sees it average-pooled to
//          its own resolution (squeezes halve it level by level) and concatenated on channels.
// The condition only enters the networks (coupling scales and shifts, split priors), never the
// change of variables itself, so the log-determinants are those of the unconditional layers.
#pragma once

#include <torch/nn/modules/embedding.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <string>

#include "flowinone/flows/bijector.h"

namespace fi {

enum class ConditionKind { kNone, kClass, kImage };
/// "none", "class", "image"; throws std::invalid_argument listing the valid names.
ConditionKind parse_condition_kind(const std::string& name);
std::string to_string(ConditionKind kind);

struct ConditionOptions {
  ConditionKind kind = ConditionKind::kNone;
  std::int64_t num_classes = 0;     // class: labels in [0, num_classes)
  std::int64_t embedding_dim = 16;  // class: size of each layer's embedding
  std::int64_t image_channels = 0;  // image: channels of the condition image
  /// Features (vector networks) or channels (image networks) the condition adds to the input.
  std::int64_t features() const;
};

/// Validates the options; throws std::invalid_argument naming the bad field.
void check_condition_options(const ConditionOptions& options, const std::string& where);

class ConditionEncoder : public torch::nn::Module {
 public:
  explicit ConditionEncoder(const ConditionOptions& options);
  /// (B, features) for a vector network with batch B; undefined when unconditional.
  torch::Tensor vector_features(const torch::Tensor& cond, std::int64_t batch);
  /// (B, features, height, width) for an image network; undefined when unconditional.
  torch::Tensor image_features(const torch::Tensor& cond, std::int64_t batch, std::int64_t height,
                               std::int64_t width);
  const ConditionOptions& options() const { return options_; }

 private:
  void check_cond(const torch::Tensor& cond, std::int64_t batch) const;
  ConditionOptions options_;
  torch::nn::Embedding embedding_{nullptr};
};

}  // namespace fi
