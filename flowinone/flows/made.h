// MADE (Germain et al. 2015): an MLP whose weight masks make output j depend only on the inputs
// that come before j in a chosen order, so its Jacobian is strictly triangular in that order.
//
// Order: `order` lists the variables in the order they are generated: order = {2, 0, 1} means x2
// first (it depends on nothing), then x0 (depends on x2), then x1 (depends on x2 and x0). The
// degree of input order[k] is k + 1. Hidden units get degrees cycling through 1 .. D-1 and see
// inputs (or units) of degree <= theirs; output j sees hidden units of degree < degree(j).
// An optional condition (class embedding) feeds the first hidden layer unmasked: every output
// may depend on it. Outputs: (B, outputs_per_dim, D), output (k, j) belongs to variable j.
#pragma once

#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>

#include <cstdint>
#include <vector>

#include "flowinone/flows/condition.h"

namespace fi {

struct MadeOptions {
  std::int64_t dim = 2;              // D
  std::int64_t hidden = 64;          // units per hidden layer
  int hidden_layers = 2;             // >= 1
  std::int64_t outputs_per_dim = 2;  // MAF: shift and log-scale
  std::vector<std::int64_t> order;   // a permutation of 0..D-1; empty = 0, 1, ..., D-1
  ConditionOptions condition;        // none or class
};

class Made : public torch::nn::Module {
 public:
  explicit Made(const MadeOptions& options);
  /// x (B, D) [, cond] -> (B, outputs_per_dim, D).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& cond);
  const std::vector<std::int64_t>& order() const { return order_; }
  const MadeOptions& options() const { return options_; }

 private:
  MadeOptions options_;
  std::vector<std::int64_t> order_;
  std::shared_ptr<ConditionEncoder> encoder_;
  torch::nn::ModuleList registered_{nullptr};
  std::vector<torch::nn::Linear> layers_;  // hidden layers then the output layer
  std::vector<torch::Tensor> masks_;       // (out, in) buffers, one per layer
  torch::nn::Linear condition_input_{nullptr};
};

/// 0, 1, ..., D-1 reversed when `reversed`.
std::vector<std::int64_t> natural_order(std::int64_t dim, bool reversed = false);

}  // namespace fi
