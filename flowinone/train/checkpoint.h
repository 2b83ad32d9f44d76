// The resumable training state: DIR/checkpoint/state.safetensors, one file written atomically, so
// an interruption at any moment leaves the previous checkpoint readable.
//
// Tensors: "model.<name>" (raw weights), "ema.<i>", "adam.m.<i>", "adam.v.<i>", "adam.step",
// "rng.data" (the data generator's state, uint8). Metadata: "config" (JSON), "step".
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "flowinone/generative/run_config.h"
#include "flowinone/io/safetensors.h"

namespace fi {

struct CheckpointContents {
  RunConfig config;
  std::int64_t step = 0;
  std::map<std::string, torch::Tensor> tensors;
};

std::string checkpoint_path(const std::string& model_dir);

void save_checkpoint(const std::string& model_dir, const NamedTensors& tensors,
                     const RunConfig& config, std::int64_t step);

/// Throws FileError when there is no checkpoint or it is malformed: a metadata step that is not a
/// non-negative integer, or a floating tensor holding NaN or Inf (named in the message). The
/// counters' agreement with the step is checked by Trainer::load_state.
CheckpointContents load_checkpoint(const std::string& model_dir);

/// The checks of load_checkpoint on the bytes of a state.safetensors; `path` names them in errors.
CheckpointContents decode_checkpoint(const std::string& bytes, const std::string& path);

/// The name of the first floating tensor holding NaN or Inf, or "" when all are finite.
std::string first_non_finite(const NamedTensors& tensors);

}  // namespace fi
