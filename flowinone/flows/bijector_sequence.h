// A sequence of bijectors applied one after another: forward runs them in order and sums their
// log-determinants, inverse runs them backwards. Flow holds one; the multi-scale Split holds one
// for the levels below it.
//
// Checking each layer for non-finite values costs a device synchronization per layer, so it is off
// by default; Flow turns it on only to locate a failure it has already seen (flow.h).
#pragma once

#include <torch/nn/modules/container/modulelist.h>

#include <vector>

#include "flowinone/flows/bijector.h"

namespace fi {

class BijectorSequence : public Bijector {
 public:
  explicit BijectorSequence(std::vector<BijectorPtr> layers);

  BijectorOutput forward(const torch::Tensor& x, const torch::Tensor& cond) override;
  torch::Tensor inverse(const torch::Tensor& z, const torch::Tensor& cond) override;
  std::string kind() const override { return "sequence"; }
  std::vector<std::int64_t> output_shape(const std::vector<std::int64_t>& input) const override;

  std::size_t size() const { return layers_.size(); }
  const BijectorPtr& layer(std::size_t index) const { return layers_.at(index); }

  /// When on, every layer's output (and log-determinant) is checked after it runs; the first
  /// non-finite one throws NonFiniteError naming its index and kind.
  void set_check_each_layer(bool on) { check_each_layer_ = on; }

 private:
  std::vector<BijectorPtr> layers_;
  torch::nn::ModuleList registered_{nullptr};  // registers the layers as 0, 1, ...
  bool check_each_layer_ = false;
};

}  // namespace fi
