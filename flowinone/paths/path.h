// Probability paths for conditional flow matching.
//
// A path joins a source point x0 (t = 0) to a target point x1 (t = 1). Given a coupled pair and a
// time, it returns the point x_t on the path and the conditional target velocity u_t that the
// model learns to regress: loss = E || v(x_t, t) - u_t ||^2  (Lipman et al. 2023, Tong et al.
// 2024). Shapes: x0, x1, x_t, u_t are (B, ...); t is (B).
#pragma once

#include <ATen/core/Generator.h>
#include <torch/types.h>

#include <memory>
#include <string>

namespace fi {

struct PathSample {
  torch::Tensor t;   // (B) times in [0, 1]
  torch::Tensor xt;  // (B, ...) point on the path at t
  torch::Tensor ut;  // (B, ...) conditional target velocity at (x_t, t)
};

class ProbabilityPath {
 public:
  virtual ~ProbabilityPath() = default;
  /// x_t and u_t for pairs (x0, x1) at times t; noise comes from `generator`.
  virtual PathSample sample(const torch::Tensor& x0, const torch::Tensor& x1,
                            const torch::Tensor& t, at::Generator& generator) const = 0;
  virtual std::string name() const = 0;
};

enum class PathKind { kStraight, kVp, kBridge, kTarget };

/// "straight", "vp", "bridge" or "target"; throws std::invalid_argument listing the valid names.
PathKind parse_path(const std::string& name);
std::string to_string(PathKind kind);

/// The path of this kind; `sigma` is its noise level (>= 0; > 0 for the bridge; sigma_min in
/// [0, 1) for the target path).
std::unique_ptr<ProbabilityPath> make_path(PathKind kind, double sigma);

/// Throws std::invalid_argument when the path cannot start from the source data set `source_name`
/// (the target path is defined only for a standard Gaussian source, "gaussian").
void check_path_source(PathKind kind, const std::string& source_name);

/// Checks the arguments of ProbabilityPath::sample: x0 and x1 (B, ...) of one shape, t (B);
/// `where` names the caller in the message.
void check_path_inputs(const char* where, const torch::Tensor& x0, const torch::Tensor& x1,
                       const torch::Tensor& t);

/// Standard normal noise shaped, typed and placed like `like`. Drawn on the CPU from the seeded
/// generator, then moved, so CPU and CUDA runs see the same noise.
torch::Tensor path_noise(const torch::Tensor& like, at::Generator& generator);

/// B training times in [0, 1), on `device`, float32: (B). t = 1 - (1 - u)^skew with u uniform:
/// skew = 1 is uniform; skew > 1 puts more times near t = 1, where the velocity of a flow onto
/// data with sharp edges changes fastest (P(t > 1 - e) = e^(1/skew)).
torch::Tensor sample_times(std::int64_t batch_size, at::Generator& generator,
                           const c10::Device& device, double skew = 1.0);

/// Broadcasts t (B) against x (B, ...) as (B, 1, ..., 1).
torch::Tensor expand_time_like(const torch::Tensor& t, const torch::Tensor& x);

}  // namespace fi
