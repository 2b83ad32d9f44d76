// Invertible 1x1 convolution (Glow), LU-parametrized:
//   W = P L (U + diag(sign * exp(log_abs_s)))
// with P a fixed permutation (buffer), L unit lower triangular, U strictly upper triangular,
// `sign` a fixed buffer of +-1 and log_abs_s learned. det W = prod(sign * exp(log_abs_s)) is
// never 0, so W cannot become singular whatever the optimizer does, and
// log|det| = sum(log_abs_s) costs O(C) instead of a determinant. Initialized from the LU
// decomposition (partial pivoting) of a random rotation.
// Images (B, C, H, W): z[:, c] = sum_k W[c, k] x[:, k] at every pixel, logdet = H * W *
// sum(log_abs_s). Vectors (B, C): z = x W^T, logdet = sum(log_abs_s) (a learned invertible linear
// map).
#pragma once

#include "flowinone/flows/bijector.h"

namespace fi {

class InvertibleConv1x1 : public Bijector {
 public:
  /// Random initial rotation from torch's global generator.
  explicit InvertibleConv1x1(std::int64_t channels);
  BijectorOutput forward(const torch::Tensor& x, const torch::Tensor& cond) override;
  torch::Tensor inverse(const torch::Tensor& z, const torch::Tensor& cond) override;
  std::string kind() const override { return "invertible_conv1x1"; }
  /// The (C, C) matrix W.
  torch::Tensor weight() const;

 private:
  void check_input(const torch::Tensor& x) const;
  std::int64_t channels_;
  torch::Tensor permutation_;  // (C, C) buffer, a permutation matrix
  torch::Tensor lower_;        // (C, C), only the strict lower triangle is used
  torch::Tensor upper_;        // (C, C), only the strict upper triangle is used
  torch::Tensor log_abs_s_;    // (C)
  torch::Tensor sign_s_;       // (C) buffer of +-1
  torch::Tensor lower_mask_;   // (C, C) buffer, 1 strictly below the diagonal
};

}  // namespace fi
