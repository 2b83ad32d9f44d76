// The velocity-model interface: a network v_theta(x, t[, cond]) trained to regress the path's
// target u_t.
//
// x is (B, ...) and t is (B) in [0, 1]; the output has the shape of x. Models are torch modules so
// that parameters, devices and serialization work the usual way; they are built by name from the
// run configuration (models/model_factory.h).
//
// A conditional model (the image UNet) also takes a Conditioning: class labels, and/or an image
// concatenated to the input. Unconditional models inherit the default forward(x, t, cond), which
// accepts only an empty condition, so callers can pass a Conditioning to any model.
#pragma once

#include <torch/nn/module.h>
#include <torch/types.h>

#include <memory>
#include <stdexcept>

namespace fi {

/// What a conditional model is conditioned on. Undefined tensors mean "not given".
struct Conditioning {
  torch::Tensor labels;  // (B) int64 class ids; -1 (or the model's num_classes) = null class
  torch::Tensor image;   // (B, Cc, H, W) condition image, same H, W as x

  bool empty() const { return !labels.defined() && !image.defined(); }
};

class VelocityModel : public torch::nn::Module {
 public:
  /// x (B, ...), t (B) -> velocity (B, ...).
  virtual torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t) = 0;

  /// x (B, ...), t (B), cond -> velocity (B, ...). The default serves unconditional models: it
  /// forwards to forward(x, t) when cond is empty and throws std::invalid_argument otherwise.
  virtual torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t,
                                const Conditioning& cond) {
    if (!cond.empty()) {
      throw std::invalid_argument("[VelocityModel] this model takes no condition");
    }
    return forward(x, t);
  }
};

using VelocityModelPtr = std::shared_ptr<VelocityModel>;

}  // namespace fi
