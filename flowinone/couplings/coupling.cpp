#include "flowinone/couplings/coupling.h"

#include <set>

#include "flowinone/core/errors.h"
#include "flowinone/core/named_values.h"
#include "flowinone/couplings/ot_exact.h"
#include "flowinone/couplings/ot_sinkhorn.h"

namespace fi {

namespace {
constexpr NamedValue<CouplingKind> kCouplingNames[] = {{CouplingKind::kIndependent, "independent"},
                                                       {CouplingKind::kOtExact, "ot-exact"},
                                                       {CouplingKind::kOtSinkhorn, "ot-sinkhorn"}};
}  // namespace

CouplingKind parse_coupling(const std::string& name) {
  return parse_named(kCouplingNames, name, "coupling");
}

std::string to_string(CouplingKind kind) { return name_of(kCouplingNames, kind); }

std::unique_ptr<Coupling> make_coupling(CouplingKind kind, const CouplingOptions& options) {
  switch (kind) {
    case CouplingKind::kIndependent:
      return std::make_unique<IndependentCoupling>();
    case CouplingKind::kOtExact:
      return std::make_unique<OtExactCoupling>(options.label_aware);
    case CouplingKind::kOtSinkhorn:
      return std::make_unique<OtSinkhornCoupling>(options);
  }
  throw std::invalid_argument("[make_coupling] unhandled coupling kind " +
                              std::to_string(static_cast<int>(kind)));
}

CoupledPairs IndependentCoupling::pair(const torch::Tensor& x0, const torch::Tensor& x1,
                                       const torch::Tensor& labels,
                                       at::Generator& generator) const {
  check_coupling_inputs("IndependentCoupling::pair", x0, x1, labels);
  return {x0, x1, labels};
}

torch::Tensor squared_distance_cost(const torch::Tensor& a, const torch::Tensor& b) {
  check_arg(a.defined() && b.defined() && a.dim() >= 1 && b.dim() >= 1,
            "[squared_distance_cost] a and b must be (B, ...) tensors");
  check_arg(a.sizes().slice(1) == b.sizes().slice(1), "[squared_distance_cost] rows of a ",
            a.sizes(), " and b ", b.sizes(), " differ in shape");
  torch::Tensor a2 = a.reshape({a.size(0), -1}).to(torch::kFloat64);
  torch::Tensor b2 = b.reshape({b.size(0), -1}).to(a.device(), torch::kFloat64);
  // ||a||^2 + ||b||^2 - 2 a.b cancels badly for points far from the origin; centring both sets on
  // their common mean first removes the shared offset (distances are translation invariant).
  const torch::Tensor centre = torch::cat({a2, b2}, 0).mean(0, /*keepdim=*/true);
  a2 = a2 - centre;
  b2 = b2 - centre;
  const torch::Tensor cost = a2.pow(2).sum(1, /*keepdim=*/true) + b2.pow(2).sum(1).unsqueeze(0) -
                             2.0 * torch::matmul(a2, b2.t());
  return torch::clamp_min(cost, 0.0);
}

void check_coupling_inputs(const char* where, const torch::Tensor& x0, const torch::Tensor& x1,
                           const torch::Tensor& labels) {
  check_arg(x0.defined() && x1.defined(), "[", where, "] x0 and x1 must be given");
  check_arg(x0.dim() >= 1 && x0.size(0) > 0, "[", where, "] x0 must be a non-empty (B, ...), got ",
            x0.sizes());
  check_arg(x0.sizes() == x1.sizes(), "[", where, "] x0 ", x0.sizes(), " and x1 ", x1.sizes(),
            " differ in shape");
  if (labels.defined()) {
    check_arg(labels.dim() == 1 && labels.size(0) == x1.size(0), "[", where,
              "] labels must be (B) with B = ", x1.size(0), ", got ", labels.sizes());
    check_arg(labels.scalar_type() == torch::kInt64, "[", where, "] labels must be int64, got ",
              labels.scalar_type());
  }
}

CoupledPairs pair_by_class(const torch::Tensor& x0, const torch::Tensor& x1,
                           const torch::Tensor& labels, bool label_aware, const RowMatcher& match) {
  if (!labels.defined() || !label_aware) return {match(x0, x1), x1, labels};
  const torch::Tensor cpu_labels = labels.to(torch::kCPU).contiguous();
  const std::int64_t* label_data = cpu_labels.data_ptr<std::int64_t>();
  const std::set<std::int64_t> classes(label_data, label_data + cpu_labels.size(0));
  if (classes.size() == 1) return {match(x0, x1), x1, labels};
  torch::Tensor paired = torch::empty_like(x0);
  for (const std::int64_t label : classes) {
    const torch::Tensor rows = torch::nonzero(cpu_labels == label).flatten().to(x0.device());
    const torch::Tensor group = match(x0.index_select(0, rows), x1.index_select(0, rows));
    paired.index_copy_(0, rows, group.to(paired.scalar_type()));
  }
  return {paired, x1, labels};
}

}  // namespace fi
