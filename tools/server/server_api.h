// The HTTP API's requests and responses, apart from HTTP: each endpoint is a function from a
// JSON request to a JSON response over the loaded models (generative/generative_model.h), so the
// routes (http_server.h) stay thin and the rules can be tested without a socket.
//
//   GET  /health         {"status": "ok", "models": N} once the models are loaded
//   GET  /v1/models      per model: family, data shape, classes by name, what it takes, defaults,
//                        and the server's limits, so that a client can build its form from it
//   POST /v1/generate    {"model", "n", "class", "guidance", "solver", "steps", "seed",
//                        "temperature", "trajectory"} -> PNG pictures (base64; their text chunk
//                        carries the parameters) or 2D points, with the states at K times
//   POST /v1/translate   {"model", "image" (base64 PNG or data URL), "guidance", "solver", "steps",
//                        "seed", "intermediates"} -> the output PNG (and pictures along the way)
//   POST /v1/likelihood  {"model", "images" or "points", "estimator", "probes", "seed", ...}
//                        -> log-likelihood per item, bits/dim and its standard error
//   POST /v1/prompt      {"task", "text", "seed", "size", "boxes", "arrows", "strokes", "dots"}
//                        -> the visual prompt PNG
//   POST /v1/velocity    {"model", "t", "points"} -> the 2D velocity field at time t
//   GET  /v1/models/{name}/reference
//                        bits/dim of the model's held-out pictures (a histogram to read a
//                        likelihood against), computed once
//   jobs                 any of the above, and 2D training (playground_training.h), run in the
//                        background by a JobQueue through run_job()
//
// Every bad request is an ApiError: an HTTP status, a code, the field at fault and a message.
#pragma once

#include <c10/core/Device.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <shared_mutex>
#include <string>

#include "api_error.h"
#include "flowinone/generative/model_dir.h"
#include "job_queue.h"
#include "playground_training.h"
#include "server_metrics.h"

namespace fi::server {

struct ServerLimits {
  std::size_t max_body_bytes = 16u << 20;     // a request body, in bytes
  std::int64_t max_images = 64;               // pictures per request (generate n, likelihood)
  std::int64_t max_points = 100000;           // 2D points per request
  int max_steps = 1000;                       // fixed solver steps
  std::int64_t max_picture_pixels = 1 << 22;  // width x height of a picture, read from its header
  int max_trajectory_states = 101;            // generate: states returned along the ODE
  int max_intermediates = 33;                 // translate: pictures returned along the ODE
  std::int64_t max_batch = 64;                // pictures merged into one batched solve
  bool merge_images = false;  // merge picture requests (faster; equal to alone to rounding)
  std::size_t max_trained_models = 16;  // playground models kept; the oldest goes first
  PlaygroundLimits playground;
};

class SolveBatcher;

class ServerApi {
 public:
  /// `model_dirs`: name -> model directory. Nothing is loaded until load().
  ServerApi(std::map<std::string, std::string> model_dirs, c10::Device device, ServerLimits limits);
  ~ServerApi();

  /// Loads every model (throws FileError naming the directory); then ready() turns true.
  void load();
  bool ready() const { return ready_; }
  const ServerLimits& limits() const { return limits_; }
  ServerMetrics& metrics() { return metrics_; }

  nlohmann::json health() const;
  nlohmann::json models() const;
  // `control`: the job running the request (progress, cancellation), or null.
  nlohmann::json generate(const nlohmann::json& request, JobControl* control = nullptr);
  nlohmann::json translate(const nlohmann::json& request, JobControl* control = nullptr);
  nlohmann::json likelihood(const nlohmann::json& request, JobControl* control = nullptr);
  nlohmann::json prompt(const nlohmann::json& request) const;
  nlohmann::json velocity(const nlohmann::json& request);
  nlohmann::json reference(const std::string& model_name);

  /// A job's kind and request checked before it is queued (unknown kind or model, a training
  /// request's fields): the client hears of a bad request at once, not from a failed job.
  void check_job(const std::string& kind, const nlohmann::json& request);
  /// Runs a job: generate, translate, likelihood, prompt, or train (which serves the trained
  /// model under the name its result gives).
  nlohmann::json run_job(const std::string& kind, const nlohmann::json& request,
                         JobControl& control);

 private:
  struct Served;
  std::shared_ptr<Served> find(const nlohmann::json& request) const;
  std::shared_ptr<Served> find_name(const std::string& name) const;
  nlohmann::json train(const nlohmann::json& request, JobControl& control);
  void add_trained(const std::string& name, LoadedModel loaded);

  std::map<std::string, std::string> model_dirs_;
  c10::Device device_;
  ServerLimits limits_;
  ServerMetrics metrics_;
  mutable std::shared_mutex models_mutex_;  // guards models_ and trained_
  std::map<std::string, std::shared_ptr<Served>> models_;
  std::deque<std::string> trained_;  // playground models, oldest first
  std::atomic<std::int64_t> next_trained_{1};
  std::atomic<bool> ready_{false};
};

}  // namespace fi::server
