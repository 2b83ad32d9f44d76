// A trained normalizing flow behind the GenerativeModel interface (flows/flow.h).
//
//   sample     z ~ N(0, T^2 I) drawn with the seed, then one inverse pass; class-conditional flows
//              sample the requested labels
//   log_prob   the change of variables in one forward pass per chunk (4096 points or 500 pictures,
//              unless the scoring options say); image flows
//              start with their Dequantize layer, whose noise is seeded by the scoring seed, so
//              the figure is on the 8-bit scale
// Flows do not integrate: solver options and guidance do not apply, and nfe is 0.
#pragma once

#include "flowinone/flows/flow.h"
#include "flowinone/generative/generative_model.h"

namespace fi {

class NormalizingFlowModel : public GenerativeModel {
 public:
  NormalizingFlowModel(RunConfig config, FlowPtr flow);

  ModelInfo describe() const override;
  torch::nn::Module& module() override { return *flow_; }
  const FlowPtr& flow() const { return flow_; }

  Generated sample(std::int64_t n, const torch::Tensor& labels,
                   const GenerationOptions& options) override;
  LogDensity log_prob(const torch::Tensor& x, const torch::Tensor& labels,
                      const ScoringOptions& options) override;
  LogDensity sample_with_log_prob(std::int64_t n, const GenerationOptions& generation,
                                  const ScoringOptions& scoring) override;

 private:
  FlowPtr flow_;
};

}  // namespace fi
