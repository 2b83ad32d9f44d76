// A trained flow-matching model behind the GenerativeModel interface: a velocity network and the
// run configuration that says what flows into what.
//
//   sample      x0 from the source (2D data set or Gaussian noise), integrated from t = 0 to 1;
//               class-conditional image models under classifier-free guidance (generate.h,
//               image_generation.h)
//   translate   image-pairs models: from the input picture (bridge) or from noise with the input
//               as condition channels (conditional)
//   log_prob    the CNF change of variables, integrated from t = 1 back to 0 (solvers/likelihood.h)
//               against the standard Gaussian source; images are dequantized with u / 127.5,
//               u ~ U[0, 1), and the density moved from [-1, 1] to the 8-bit scale
#pragma once

#include "flowinone/generative/generative_model.h"
#include "flowinone/models/velocity_model.h"

namespace fi {

class FlowMatchingModel : public GenerativeModel {
 public:
  FlowMatchingModel(RunConfig config, VelocityModelPtr network);

  ModelInfo describe() const override;
  torch::nn::Module& module() override { return *network_; }
  const VelocityModelPtr& network() const { return network_; }

  Generated sample(std::int64_t n, const torch::Tensor& labels,
                   const GenerationOptions& options) override;
  LogDensity log_prob(const torch::Tensor& x, const torch::Tensor& labels,
                      const ScoringOptions& options) override;
  LogDensity sample_with_log_prob(std::int64_t n, const GenerationOptions& generation,
                                  const ScoringOptions& scoring) override;
  Generated translate(const torch::Tensor& inputs, const GenerationOptions& options) override;
  torch::Tensor source_noise(std::int64_t n, std::uint64_t seed) override;
  VelocityFn velocity_field() override;

 private:
  VelocityModelPtr network_;
};

}  // namespace fi
