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
//   POST /v1/prompt      {"task", "text", "seed", "size"} -> the visual prompt PNG
//
// Every bad request is an ApiError: an HTTP status, a code, the field at fault and a message.
#pragma once

#include <c10/core/Device.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

#include "flowinone/generative/model_dir.h"

namespace fi::server {

struct ServerLimits {
  std::size_t max_body_bytes = 16u << 20;     // a request body, in bytes
  std::int64_t max_images = 64;               // pictures per request (generate n, likelihood)
  std::int64_t max_points = 100000;           // 2D points per request
  int max_steps = 1000;                       // fixed solver steps
  std::int64_t max_picture_pixels = 1 << 22;  // width x height of a picture, read from its header
  int max_trajectory_states = 101;            // generate: states returned along the ODE
};

/// A request the API refuses: status 400 (bad field), 401 (key), 404 (unknown model), 413 (too
/// large), 503 (not ready).
class ApiError : public std::runtime_error {
 public:
  ApiError(int status, std::string code, std::string field, const std::string& message)
      : std::runtime_error(message),
        status_(status),
        code_(std::move(code)),
        field_(std::move(field)) {}
  int status() const { return status_; }
  const std::string& code() const { return code_; }
  const std::string& field() const { return field_; }
  /// {"error": {"code", "message", "field"}}
  nlohmann::json to_json() const;

 private:
  int status_;
  std::string code_;
  std::string field_;
};

class ServerApi {
 public:
  /// `model_dirs`: name -> model directory. Nothing is loaded until load().
  ServerApi(std::map<std::string, std::string> model_dirs, c10::Device device, ServerLimits limits);

  /// Loads every model (throws FileError naming the directory); then ready() turns true.
  void load();
  bool ready() const { return ready_; }
  const ServerLimits& limits() const { return limits_; }

  nlohmann::json health() const;
  nlohmann::json models() const;
  nlohmann::json generate(const nlohmann::json& request);
  nlohmann::json translate(const nlohmann::json& request);
  nlohmann::json likelihood(const nlohmann::json& request);
  nlohmann::json prompt(const nlohmann::json& request) const;

 private:
  struct Served {
    LoadedModel loaded;
    std::unique_ptr<std::mutex> lock;  // one solve at a time per model
  };
  Served& find(const nlohmann::json& request);

  std::map<std::string, std::string> model_dirs_;
  c10::Device device_;
  ServerLimits limits_;
  std::map<std::string, Served> models_;
  bool ready_ = false;
};

}  // namespace fi::server
