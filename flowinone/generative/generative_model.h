// One interface over every trained model: what preview, sample, eval, likelihood, translate, the
// benchmarks and the server call, whatever the model's family.
//
// Two families implement it (model_registry.h lists the models of each):
//   flow matching       a velocity network v(x, t[, cond]); samples by integrating the ODE from the
//                       source at t = 0 to the data at t = 1 (solvers/ode.h), scores by the CNF
//                       change of variables through the solver (solvers/likelihood.h)
//   normalizing flows   a stack of bijectors; samples by one inverse pass from N(0, T^2 I), scores
//                       by the change of variables with the layers' log-determinants
// Both report log p on the same scale: nats of the data's own density for 2D points, nats on the
// 8-bit scale for images (uniformly dequantized, as bits/dim is reported), so a flow's and a
// flow-matching model's figures compare directly.
//
// Shapes: x (B, D) for 2D points, (B, C, H, W) in [-1, 1] for images; labels (B) int64 class ids.
// A model says what applies to it in describe(): options it does not use (guidance for a flow,
// temperature for a velocity network) are ignored, requests it cannot serve (a translation from
// a model that does not translate, labels to an unconditional model) throw std::invalid_argument.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <torch/nn/module.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "flowinone/generative/run_config.h"
#include "flowinone/solvers/likelihood.h"
#include "flowinone/solvers/ode.h"

namespace fi {

enum class ModelFamily { kFlowMatching, kNormalizingFlow };
/// "flow-matching", "normalizing-flow"; throws std::invalid_argument listing the names.
ModelFamily parse_model_family(const std::string& name);
std::string to_string(ModelFamily family);

/// What a model is, for callers that build a request (a command, a server's form).
struct ModelInfo {
  std::string name;  // the registry name: mlp, unet, realnvp, ...
  ModelFamily family = ModelFamily::kFlowMatching;
  std::vector<std::int64_t> data_shape;  // (2) or (C, H, W)
  bool is_image = false;
  std::int64_t num_classes = 0;          // > 0: sample() takes labels
  std::vector<std::string> class_names;  // by id; empty when the data's classes have no names
  bool translates = false;               // translate() applies: it maps input pictures to outputs
  std::string pairing_mode;              // translating models: "bridge" or "conditional"
  bool integrates = false;   // samples and scores through an ODE solver (solver, steps apply)
  bool guidance = false;     // classifier-free guidance applies (conditional velocity models)
  bool temperature = false;  // sampling temperature applies (normalizing flows)
  bool likelihood = false;   // log_prob() applies (a source density known in closed form)
  // Defaults from the model's configuration.
  SolveOptions default_solve;
  double default_guidance = 1.0;
  double default_temperature = 1.0;
};

struct GenerationOptions {
  SolveOptions solve;        // models that integrate; record_trajectory keeps the states
  double guidance = 1.0;     // conditioned velocity models: classifier-free guidance weight
  double temperature = 1.0;  // normalizing flows: std of the base samples
  std::uint64_t seed = 0;    // the source noise
  // Given: the source draw to start from, as source_noise(n, seed) returns it, instead of one
  // drawn here from seed. A server batching several requests into one solve concatenates theirs.
  torch::Tensor noise;
  // Images integrated at once; the noise is drawn for all of them first, so the images do not
  // depend on it. 2D points are integrated in one batch.
  std::int64_t batch_size = 250;
};

struct Generated {
  torch::Tensor x;                        // (n, shape...) on the model's device
  std::int64_t nfe = 0;                   // velocity evaluations (mean over image chunks)
  std::vector<double> times;              // record_trajectory: time of each recorded state
  std::vector<torch::Tensor> trajectory;  // record_trajectory: states (2D points), x0 first
};

struct ScoringOptions {
  LikelihoodOptions likelihood;  // models that integrate: estimator, probes, solver
  std::uint64_t seed = 0;        // images: the dequantization noise
  std::int64_t batch_size = 0;   // points scored at once; 0 = the model's default
};

class GenerativeModel {
 public:
  explicit GenerativeModel(RunConfig config) : config_(std::move(config)) {}
  virtual ~GenerativeModel() = default;
  GenerativeModel(const GenerativeModel&) = delete;
  GenerativeModel& operator=(const GenerativeModel&) = delete;

  const RunConfig& config() const { return config_; }
  virtual ModelInfo describe() const = 0;
  /// The trained module, for saving, moving between devices and counting parameters.
  virtual torch::nn::Module& module() = 0;
  /// The device of the module's parameters.
  c10::Device device();

  /// n samples from the model's source noise; labels (n) int64 or undefined. Without gradients.
  virtual Generated sample(std::int64_t n, const torch::Tensor& labels,
                           const GenerationOptions& options) = 0;

  /// The random draw that sample(n, ...) or translate() of n inputs starts from with `seed` (the
  /// source points, or the Gaussian noise of images), on the model's device; models that
  /// integrate. The default throws std::invalid_argument naming the model.
  virtual torch::Tensor source_noise(std::int64_t n, std::uint64_t seed);

  /// log p(x) (B) float64 in nats, on the 8-bit scale for images (dequantized here with noise
  /// seeded by options.seed). labels (B): the data's classes for a class-conditional model, which
  /// a flow is scored given (it has no null class), while a velocity model scores p(x) with the
  /// null class and ignores them. x may live on any device.
  virtual LogDensity log_prob(const torch::Tensor& x, const torch::Tensor& labels,
                              const ScoringOptions& options) = 0;

  /// n samples with their log-density from the same pass (2D models).
  virtual LogDensity sample_with_log_prob(std::int64_t n, const GenerationOptions& generation,
                                          const ScoringOptions& scoring) = 0;

  /// Output pictures (B, C, H, W) for input pictures of the model's shape in [-1, 1]; for models
  /// whose describe().translates. The default throws std::invalid_argument.
  virtual Generated translate(const torch::Tensor& inputs, const GenerationOptions& options);

  /// The velocity field v(x, t) as a solver callback (models that integrate); the default throws
  /// std::invalid_argument naming the model.
  virtual VelocityFn velocity_field();

 protected:
  /// The info every family shares, from the configuration: name, shape, classes, translation.
  ModelInfo common_info() const;

 private:
  RunConfig config_;
};

using GenerativeModelPtr = std::shared_ptr<GenerativeModel>;

}  // namespace fi
