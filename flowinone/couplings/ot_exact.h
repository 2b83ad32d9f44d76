// The exact minibatch optimal-transport coupling (Tong et al. 2024, "OT-CFM"): the permutation
// pi minimizing sum_j ||x0[pi(j)] - x1[j]||^2, found by solve_linear_assignment on the squared
// Euclidean cost. The cost is built on the batch's device in float64; only the assignment runs
// on the CPU (O(B^3) worst case). x1 keeps its order; x0 is permuted.
#pragma once

#include <cstdint>
#include <vector>

#include "flowinone/couplings/coupling.h"

namespace fi {

class OtExactCoupling : public Coupling {
 public:
  explicit OtExactCoupling(bool label_aware = true) : label_aware_(label_aware) {}
  CoupledPairs pair(const torch::Tensor& x0, const torch::Tensor& x1, const torch::Tensor& labels,
                    at::Generator& generator) const override;
  std::string name() const override { return "ot-exact"; }

 private:
  bool label_aware_;
};

/// The optimal matching for a square cost (n, n): source_of[j] = the row matched to column j.
std::vector<std::int64_t> exact_ot_matching(const torch::Tensor& cost);

}  // namespace fi
