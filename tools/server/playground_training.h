// Training jobs of the web page's 2D playground: a small flow-matching model trained inside the
// server from a JSON request, bounded so that one request cannot hold the machine for long.
//
//   {"kind": "train", "source": "gaussian", "target": "checkerboard", "coupling": "independent",
//    "path": "straight", "sigma": 0.0, "width": 64, "depth": 3, "steps": 500, "batch_size": 256,
//    "lr": 0.005, "seed": 0}
//
// Every field is optional; the rest of the configuration is the checkerboard preset's. The loss
// (the mean since the last report) goes to the job every `report_every` steps; a cancelled job
// stops at its next step.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>

#include "flowinone/generative/generative_model.h"
#include "job_queue.h"

namespace fi::server {

struct PlaygroundLimits {
  std::int64_t max_steps = 5000;
  std::int64_t max_width = 256;
  std::int64_t max_depth = 6;
  std::int64_t max_batch_size = 2048;
};

/// The run configuration of a training request; throws ApiError (400) naming the field.
RunConfig playground_config(const nlohmann::json& request, const PlaygroundLimits& limits);

struct PlaygroundModel {
  GenerativeModelPtr model;  // the EMA weights, in eval mode, ready to sample
  double final_loss = 0;     // mean over the last report's steps
};

/// Trains `config` on the CPU, reporting to `control`. Throws JobCancelled when cancelled,
/// std::runtime_error when the loss is not finite.
PlaygroundModel train_playground(const RunConfig& config, JobControl& control,
                                 std::int64_t report_every = 10);

}  // namespace fi::server
