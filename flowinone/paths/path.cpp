#include "flowinone/paths/path.h"

#include "flowinone/core/errors.h"
#include "flowinone/core/named_values.h"
#include "flowinone/paths/bridge_path.h"
#include "flowinone/paths/straight_path.h"
#include "flowinone/paths/target_path.h"
#include "flowinone/paths/vp_path.h"

namespace fi {

namespace {
constexpr NamedValue<PathKind> kPathNames[] = {{PathKind::kStraight, "straight"},
                                               {PathKind::kVp, "vp"},
                                               {PathKind::kBridge, "bridge"},
                                               {PathKind::kTarget, "target"}};
}  // namespace

PathKind parse_path(const std::string& name) { return parse_named(kPathNames, name, "path"); }

std::string to_string(PathKind kind) { return name_of(kPathNames, kind); }

std::unique_ptr<ProbabilityPath> make_path(PathKind kind, double sigma) {
  switch (kind) {
    case PathKind::kStraight:
      return std::make_unique<StraightPath>(sigma);
    case PathKind::kVp:
      return std::make_unique<VpPath>(sigma);
    case PathKind::kBridge:
      return std::make_unique<BridgePath>(sigma);
    case PathKind::kTarget:
      return std::make_unique<TargetPath>(sigma);
  }
  throw std::invalid_argument("[make_path] unhandled path kind " +
                              std::to_string(static_cast<int>(kind)));
}

void check_path_source(PathKind kind, const std::string& source_name) {
  check_arg(kind != PathKind::kTarget || source_name == "gaussian",
            "[check_path_source] the target path needs a Gaussian source, got '", source_name, "'");
}

void check_path_inputs(const char* where, const torch::Tensor& x0, const torch::Tensor& x1,
                       const torch::Tensor& t) {
  check_arg(x0.defined() && x1.defined() && t.defined(), "[", where,
            "] x0, x1 and t must all be given");
  check_arg(x0.dim() >= 1, "[", where, "] x0 must be (B, ...), got a scalar");
  check_arg(x0.sizes() == x1.sizes(), "[", where, "] x0 ", x0.sizes(), " and x1 ", x1.sizes(),
            " differ in shape");
  check_arg(t.dim() == 1 && t.size(0) == x0.size(0), "[", where,
            "] t must be (B) with B = ", x0.size(0), ", got ", t.sizes());
}

torch::Tensor path_noise(const torch::Tensor& like, at::Generator& generator) {
  return torch::randn(like.sizes(), generator, torch::dtype(like.scalar_type())).to(like.device());
}

torch::Tensor sample_times(std::int64_t batch_size, at::Generator& generator,
                           const c10::Device& device, double skew) {
  check_arg(batch_size > 0, "[sample_times] batch size must be positive, got ", batch_size);
  check_arg(skew >= 1.0, "[sample_times] skew must be >= 1, got ", skew);
  const torch::Tensor u = torch::rand({batch_size}, generator, torch::kFloat32);
  return (skew == 1.0 ? u : 1.0 - torch::pow(1.0 - u, skew)).to(device);
}

torch::Tensor expand_time_like(const torch::Tensor& t, const torch::Tensor& x) {
  std::vector<std::int64_t> shape(static_cast<std::size_t>(x.dim()), 1);
  shape[0] = t.size(0);
  return t.reshape(shape).to(x.scalar_type());
}

}  // namespace fi
