#include "flowinone/paths/path.h"

#include "flowinone/core/errors.h"
#include "flowinone/paths/straight_path.h"

namespace fi {

PathKind parse_path(const std::string& name) {
  if (name == "straight") return PathKind::kStraight;
  throw std::invalid_argument("[path] unknown path '" + name + "' (valid: straight)");
}

std::string to_string(PathKind kind) {
  switch (kind) {
    case PathKind::kStraight:
      return "straight";
  }
  return "?";
}

std::unique_ptr<ProbabilityPath> make_path(PathKind kind, double sigma) {
  switch (kind) {
    case PathKind::kStraight:
      return std::make_unique<StraightPath>(sigma);
  }
  throw std::invalid_argument("[make_path] unhandled path kind");
}

torch::Tensor sample_times(std::int64_t batch_size, at::Generator& generator,
                           const c10::Device& device) {
  check_arg(batch_size > 0, "[sample_times] batch size must be positive, got ", batch_size);
  return torch::rand({batch_size}, generator, torch::kFloat32).to(device);
}

torch::Tensor expand_time_like(const torch::Tensor& t, const torch::Tensor& x) {
  std::vector<std::int64_t> shape(static_cast<std::size_t>(x.dim()), 1);
  shape[0] = t.size(0);
  return t.reshape(shape).to(x.scalar_type());
}

}  // namespace fi
