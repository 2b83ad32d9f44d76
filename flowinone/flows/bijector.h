// The bijector interface: one invertible layer of a normalizing flow.
//
// Direction: forward maps data x to the latent z (the density direction) and returns
// log|det dz/dx| per sample; inverse maps z back to x (the sampling direction). By the change of
// variables, log p(x) = log p_z(z) + sum of the layers' logdets.
// Shapes: x is (B, ...) with the batch first, logdet is (B) in x's dtype. `cond` is an optional
// condition, an undefined tensor when the layer is unconditional: class labels (B) int64 or an
// image (B, C', H', W') (see condition.h). Layers that change the shape (squeeze, split) say so in
// output_shape(), which works on per-sample shapes (without the batch).
#pragma once

#include <torch/nn/module.h>
#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace fi {

struct BijectorOutput {
  torch::Tensor z;       // (B, ...) latent
  torch::Tensor logdet;  // (B) log|det dz/dx|
};

class Bijector : public torch::nn::Module {
 public:
  /// x (B, ...) -> {z, logdet (B)}.
  virtual BijectorOutput forward(const torch::Tensor& x, const torch::Tensor& cond) = 0;
  /// z (B, ...) -> x; inverse(forward(x).z) == x.
  virtual torch::Tensor inverse(const torch::Tensor& z, const torch::Tensor& cond) = 0;
  /// A short name of the layer type ("affine_coupling"), used in error messages.
  virtual std::string kind() const = 0;
  /// The per-sample shape of z for a per-sample input shape; the identity for most layers.
  virtual std::vector<std::int64_t> output_shape(const std::vector<std::int64_t>& input) const {
    return input;
  }
};

using BijectorPtr = std::shared_ptr<Bijector>;

/// A layer produced a non-finite output or log-determinant. layer() is the path of layer indices
/// and kinds from the outermost sequence, e.g. "4 (split) > 2 (affine_coupling)".
class NonFiniteError : public std::runtime_error {
 public:
  NonFiniteError(const std::string& layer, const std::string& quantity)
      : std::runtime_error("[flow] non-finite " + quantity + " at layer " + layer),
        layer_(layer),
        quantity_(quantity) {}
  const std::string& layer() const { return layer_; }
  const std::string& quantity() const { return quantity_; }

 private:
  std::string layer_;
  std::string quantity_;
};

/// A zero log-determinant (B) in x's dtype and device.
inline torch::Tensor zero_logdet(const torch::Tensor& x) {
  return torch::zeros({x.size(0)}, x.options());
}

/// Number of elements of a per-sample shape.
inline std::int64_t shape_numel(const std::vector<std::int64_t>& shape) {
  std::int64_t n = 1;
  for (const auto d : shape) n *= d;
  return n;
}

}  // namespace fi
