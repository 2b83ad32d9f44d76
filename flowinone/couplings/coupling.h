// Minibatch couplings: how a batch of source points x0 is paired with a batch of data points x1
// before the path joins them (Tong et al. 2024, "Improving and generalizing flow-based generative
// models with minibatch optimal transport"; Pooladian et al. 2023).
//
//   independent   pairs as drawn: (x0[j], x1[j]), the plain I-CFM coupling
//   ot-exact      x0 reordered by the permutation minimizing sum_j ||x0'[j] - x1[j]||^2 (OT-CFM)
//   ot-sinkhorn   for each x1[j], an x0 row drawn from column j of the entropic OT plan
//                 (with replacement, as torchcfm's OTPlanSampler), for SB-CFM with reg = 2 sigma^2
//
// The cost is the squared Euclidean distance between flattened rows, in float64. Before Sinkhorn
// it is divided by its maximum (POT's normalize="max", torchcfm's normalize_cost), so `reg` is a
// fraction of the largest cost in the batch whatever the data's scale; the exact coupling needs no
// normalization. x1 keeps its order and its labels in every coupling; only x0 is reordered.
//
// Label-aware pairing: when labels (the classes of x1's rows) are given and label_aware is set,
// each class is solved on its own: the x1 rows of class c are paired with the x0 rows at the same
// positions. Source rows are exchangeable noise, so these are as good candidates as any, and no
// pair crosses classes (a class-conditional model then learns a per-class transport).
// Shapes: x0 and x1 (B, ...), labels (B) int64 or an undefined tensor.
#pragma once

#include <ATen/core/Generator.h>
#include <torch/types.h>

#include <functional>
#include <memory>
#include <string>

namespace fi {

struct CoupledPairs {
  torch::Tensor x0;      // (B, ...) source rows, x0[j] paired with x1[j]
  torch::Tensor x1;      // (B, ...) data rows, in the order given
  torch::Tensor labels;  // (B) int64 classes of x1's rows, or undefined
};

class Coupling {
 public:
  virtual ~Coupling() = default;
  /// Reorders the batch into pairs. x0 and x1 have the same shape (B, ...); labels (B) int64
  /// (optional, undefined tensor = none) are the classes of x1's rows; returned labels follow x1.
  virtual CoupledPairs pair(const torch::Tensor& x0, const torch::Tensor& x1,
                            const torch::Tensor& labels, at::Generator& generator) const = 0;
  virtual std::string name() const = 0;
};

enum class CouplingKind { kIndependent, kOtExact, kOtSinkhorn };

/// "independent", "ot-exact" or "ot-sinkhorn"; throws std::invalid_argument listing the names.
CouplingKind parse_coupling(const std::string& name);
std::string to_string(CouplingKind kind);

struct CouplingOptions {
  double reg = 0.05;          // Sinkhorn entropic regularization, relative to the max cost (> 0)
  int max_iterations = 1000;  // Sinkhorn iterations at most (>= 1)
  double tolerance = 1e-6;    // Sinkhorn stops when the L1 marginal error is below this (>= 0)
  bool label_aware = true;    // with labels, pair only within each class
};

/// The coupling of this kind; throws std::invalid_argument for options out of range.
std::unique_ptr<Coupling> make_coupling(CouplingKind kind, const CouplingOptions& options = {});

/// Pairs as drawn: returns the inputs unchanged.
class IndependentCoupling : public Coupling {
 public:
  CoupledPairs pair(const torch::Tensor& x0, const torch::Tensor& x1, const torch::Tensor& labels,
                    at::Generator& generator) const override;
  std::string name() const override { return "independent"; }
};

/// Squared Euclidean distances between the flattened rows of a (B0, ...) and b (B1, ...) with the
/// same trailing shape: (B0, B1) float64 on a's device.
torch::Tensor squared_distance_cost(const torch::Tensor& a, const torch::Tensor& b);

/// Checks the arguments of Coupling::pair; `where` names the caller in the message.
void check_coupling_inputs(const char* where, const torch::Tensor& x0, const torch::Tensor& x1,
                           const torch::Tensor& labels);

/// Matches source rows to data rows: given x0 (n, ...) and x1 (n, ...), returns (n, ...) rows of
/// x0 (possibly repeated) with row j paired with x1[j].
using RowMatcher = std::function<torch::Tensor(const torch::Tensor& x0, const torch::Tensor& x1)>;

/// Runs `match` on the whole batch, or on each class of x1 separately when labels are defined and
/// `label_aware` is set (see the header comment); x1 and labels are returned as given.
CoupledPairs pair_by_class(const torch::Tensor& x0, const torch::Tensor& x1,
                           const torch::Tensor& labels, bool label_aware, const RowMatcher& match);

}  // namespace fi
