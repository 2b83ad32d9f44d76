// The velocity-model interface: a network v_theta(x, t) trained to regress the path's target u_t.
//
// x is (B, ...) and t is (B) in [0, 1]; the output has the shape of x. Models are torch modules so
// that parameters, devices and serialization work the usual way; they are built by name from the
// run configuration (models/model_factory.h).
#pragma once

#include <torch/nn/module.h>
#include <torch/types.h>

#include <memory>

namespace fi {

class VelocityModel : public torch::nn::Module {
 public:
  /// x (B, ...), t (B) -> velocity (B, ...).
  virtual torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t) = 0;
};

using VelocityModelPtr = std::shared_ptr<VelocityModel>;

}  // namespace fi
