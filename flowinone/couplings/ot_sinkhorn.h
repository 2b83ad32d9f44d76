// The entropic minibatch optimal-transport coupling (Cuturi 2013; Tong et al. 2024, "SB-CFM").
//
// sinkhorn_plan solves  min_P <P, C> - reg H(P)  over plans P (B0, B1) with uniform marginals
// P 1 = 1/B0, P^T 1 = 1/B1, by Sinkhorn iterations on the dual potentials f, g in the log domain
// (P_ij = exp((f_i + g_j - C_ij) / reg)), in float64 with logsumexp updates, so a small reg or a
// large cost underflows nothing. It runs on the cost's device with torch ops.
//
// The coupling divides the squared Euclidean cost by its maximum, solves for the plan, and then,
// for each x1 row j, draws one x0 row from column j of the plan (normalized): pairs drawn with
// replacement, as torchcfm's OTPlanSampler does. The uniform draws come from the CPU generator
// and the inverse-CDF lookup runs on the batch's device, so CPU and CUDA runs pick the same rows.
// As reg -> 0 the plan tends to the exact OT matching; as reg -> inf to the independent one.
#pragma once

#include "flowinone/couplings/coupling.h"

namespace fi {

/// Entropic OT plan (B0, B1), float64 on cost's device, entries summing to 1, for a cost (B0, B1)
/// with uniform marginals; reg > 0 in the cost's units. Stops when the L1 error of the row
/// marginals (the columns are exact after each update) is <= tolerance, or after max_iterations.
torch::Tensor sinkhorn_plan(const torch::Tensor& cost, double reg, int max_iterations = 1000,
                            double tolerance = 1e-6);

class OtSinkhornCoupling : public Coupling {
 public:
  /// Uses reg, max_iterations, tolerance and label_aware; throws for reg <= 0.
  explicit OtSinkhornCoupling(const CouplingOptions& options = {});
  CoupledPairs pair(const torch::Tensor& x0, const torch::Tensor& x1, const torch::Tensor& labels,
                    at::Generator& generator) const override;
  std::string name() const override { return "ot-sinkhorn"; }

 private:
  CouplingOptions options_;
};

}  // namespace fi
