#include "flowinone/solvers/divergence.h"

#include <torch/csrc/autograd/autograd.h>

#include <sstream>
#include <vector>

#include "flowinone/core/errors.h"
#include "flowinone/core/named_values.h"

namespace fi {

namespace {

constexpr NamedValue<DivergenceEstimator> kEstimatorNames[] = {
    {DivergenceEstimator::kExact, "exact"}, {DivergenceEstimator::kHutchinson, "hutchinson"}};
constexpr NamedValue<ProbeKind> kProbeNames[] = {{ProbeKind::kRademacher, "rademacher"},
                                                 {ProbeKind::kGaussian, "gaussian"}};

void check_pair(const torch::Tensor& v, const torch::Tensor& x, const char* where) {
  check_arg(x.defined() && v.defined(), "[", where, "] undefined tensor");
  check_arg(x.dim() >= 2 && x.size(0) >= 1, "[", where,
            "] x must be (B, ...) with at least one feature dimension, got ", x.sizes());
  check_arg(v.sizes() == x.sizes(), "[", where, "] v has shape ", v.sizes(), ", x has shape ",
            x.sizes());
  check_arg(x.requires_grad() && v.requires_grad(), "[", where,
            "] v must be computed from x with autograd recording (x.requires_grad())");
}

// (e^T dv/dx) for a cotangent e of v's shape.
torch::Tensor vector_jacobian(const torch::Tensor& v, const torch::Tensor& x,
                              const torch::Tensor& cotangent, bool keep_graph) {
  return torch::autograd::grad({v}, {x}, {cotangent}, keep_graph, /*create_graph=*/false)[0];
}

}  // namespace

DivergenceEstimator parse_divergence_estimator(const std::string& name) {
  return parse_named(kEstimatorNames, name, "divergence estimator");
}
std::string to_string(DivergenceEstimator estimator) { return name_of(kEstimatorNames, estimator); }
ProbeKind parse_probe_kind(const std::string& name) {
  return parse_named(kProbeNames, name, "probe");
}
std::string to_string(ProbeKind kind) { return name_of(kProbeNames, kind); }

torch::Tensor exact_divergence(const torch::Tensor& v, const torch::Tensor& x) {
  check_pair(v, x, "exact_divergence");
  const std::int64_t batch = x.size(0);
  const std::int64_t dim = x.numel() / batch;
  torch::Tensor divergence = torch::zeros({batch}, v.options().requires_grad(false));
  for (std::int64_t i = 0; i < dim; ++i) {
    // Row i of each Jacobian: e_i^T J; its i-th entry is dv_i/dx_i.
    torch::Tensor e = torch::zeros({batch, dim}, v.options().requires_grad(false));
    e.select(1, i).fill_(1.0);
    const torch::Tensor row =
        vector_jacobian(v, x, e.view(x.sizes()), /*keep_graph=*/i + 1 < dim).reshape({batch, dim});
    divergence.add_(row.select(1, i));
  }
  return divergence;
}

torch::Tensor hutchinson_divergence(const torch::Tensor& v, const torch::Tensor& x,
                                    const torch::Tensor& probes) {
  check_pair(v, x, "hutchinson_divergence");
  check_arg(probes.defined() && probes.dim() == x.dim() + 1 && probes.size(0) >= 1 &&
                probes.sizes().slice(1) == x.sizes(),
            "[hutchinson_divergence] probes must be (K, ", x.sizes(), "), got ",
            probes.defined() ? detail::concat(probes.sizes()) : std::string("undefined"));
  const std::int64_t num_probes = probes.size(0);
  const std::int64_t batch = x.size(0);
  torch::Tensor sum = torch::zeros({batch}, v.options().requires_grad(false));
  for (std::int64_t k = 0; k < num_probes; ++k) {
    const torch::Tensor eps = probes[k].to(v.scalar_type());
    const torch::Tensor eps_j = vector_jacobian(v, x, eps, /*keep_graph=*/k + 1 < num_probes);
    sum.add_((eps_j * eps).reshape({batch, -1}).sum(1));
  }
  return sum.div_(static_cast<double>(num_probes));
}

torch::Tensor draw_probes(ProbeKind kind, std::int64_t num_probes, at::IntArrayRef shape,
                          at::Generator& generator, const torch::TensorOptions& options) {
  check_arg(num_probes >= 1, "[draw_probes] num_probes, ", num_probes, ", must be >= 1");
  std::vector<std::int64_t> sizes{num_probes};
  sizes.insert(sizes.end(), shape.begin(), shape.end());
  const auto cpu = torch::TensorOptions().dtype(options.dtype()).device(torch::kCPU);
  torch::Tensor probes;
  if (kind == ProbeKind::kRademacher) {
    probes = torch::randint(0, 2, sizes, generator, cpu).mul_(2.0).sub_(1.0);
  } else {
    probes = torch::randn(sizes, generator, cpu);
  }
  return probes.to(options.device());
}

}  // namespace fi
