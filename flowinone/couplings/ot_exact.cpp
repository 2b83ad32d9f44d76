#include "flowinone/couplings/ot_exact.h"

#include "flowinone/core/errors.h"
#include "flowinone/couplings/linear_assignment.h"

namespace fi {

std::vector<std::int64_t> exact_ot_matching(const torch::Tensor& cost) {
  check_arg(cost.defined() && cost.dim() == 2 && cost.size(0) == cost.size(1),
            "[exact_ot_matching] cost must be square (n, n), got ",
            cost.defined() ? cost.sizes() : torch::IntArrayRef{});
  const std::int64_t n = cost.size(0);
  const torch::Tensor cpu = cost.to(torch::kCPU, torch::kFloat64).contiguous();
  const double* data = cpu.data_ptr<double>();
  const std::vector<double> values(data, data + n * n);
  const std::vector<std::int64_t> column_of_row = solve_linear_assignment(values, n);
  std::vector<std::int64_t> source_of(static_cast<std::size_t>(n));
  for (std::int64_t row = 0; row < n; ++row) source_of[column_of_row[row]] = row;
  return source_of;
}

CoupledPairs OtExactCoupling::pair(const torch::Tensor& x0, const torch::Tensor& x1,
                                   const torch::Tensor& labels, at::Generator& generator) const {
  check_coupling_inputs("OtExactCoupling::pair", x0, x1, labels);
  return pair_by_class(
      x0, x1, labels, label_aware_, [](const torch::Tensor& source, const torch::Tensor& target) {
        std::vector<std::int64_t> order = exact_ot_matching(squared_distance_cost(source, target));
        const torch::Tensor index = torch::tensor(order, torch::kInt64).to(source.device());
        return source.index_select(0, index);
      });
}

}  // namespace fi
