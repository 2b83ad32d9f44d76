// Data (x1) prediction: a network that outputs the clean endpoint, read as a velocity.
//
// For the straight path x_t = (1 - t) x0 + t x1 the target velocity is u = x1 - x0 =
// (x1 - x_t) / (1 - t), so a network x1_hat(x, t) defines
//     v(x, t) = (x1_hat(x, t) - x) / max(1 - t, floor)
// and is trained with the usual velocity loss (Li & He 2025, "Back to Basics: Let Denoising
// Generative Models Denoise"), who find it easier to learn for high-dimensional data. The floor
// keeps the division finite; for 1 - t below it the network's output is a scaled velocity.
// On our 2D checkerboard and VisPrompt-mini it trains worse than a velocity network
// (docs/results.md), so it is off by default.
//
// This is only a reparametrization (for fixed x and t it is affine in the network's output), so
// it suits any path; classifier-free guidance, being affine in the velocity, is unchanged.
#pragma once

#include "flowinone/models/velocity_model.h"

namespace fi {

class X1PredictionVelocity : public VelocityModel {
 public:
  /// `net` maps (x, t[, cond]) to an estimate of x1 with the shape of x; floor in (0, 1].
  X1PredictionVelocity(VelocityModelPtr net, double floor);

  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t) override;
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t,
                        const Conditioning& cond) override;

 private:
  torch::Tensor to_velocity(const torch::Tensor& x1_hat, const torch::Tensor& x,
                            const torch::Tensor& t) const;

  VelocityModelPtr net_;
  double floor_;
};

}  // namespace fi
