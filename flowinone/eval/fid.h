// The Frechet distance between two sets of features (Heusel et al. 2017, "GANs trained by a two
// time-scale update rule"; FID when the features are an image classifier's): the squared
// 2-Wasserstein distance between the Gaussians fitted to each set,
//
//   d^2 = ||mu1 - mu2||^2 + tr(S1 + S2 - 2 (S1 S2)^{1/2}).
//
// Computed in float64 in a symmetric form: tr((S1 S2)^{1/2}) = tr((S1^{1/2} S2 S1^{1/2})^{1/2}),
// where S1^{1/2} S2 S1^{1/2} is symmetric positive semi-definite, so both square roots come from
// symmetric eigendecompositions (tiny negative eigenvalues from rounding are clamped to 0). This
// avoids the complex results and non-symmetric sqrtm of the usual scipy formulation.
#pragma once

#include <torch/types.h>

#include <cstdint>

namespace fi {

/// Mean and covariance of a feature set.
struct FeatureStatistics {
  torch::Tensor mean;        // (D) float64, CPU
  torch::Tensor covariance;  // (D, D) float64, CPU; unbiased (divides by N - 1)
  std::int64_t count = 0;    // N, the number of feature vectors
};

/// features (N, D), N >= 2, any floating dtype and device -> statistics in float64 on the CPU.
/// Throws std::invalid_argument for another shape or non-finite values.
FeatureStatistics feature_statistics(const torch::Tensor& features);

/// d^2 between the Gaussians N(a.mean, a.covariance) and N(b.mean, b.covariance); same D.
double frechet_distance(const FeatureStatistics& a, const FeatureStatistics& b);

/// frechet_distance(feature_statistics(a), feature_statistics(b)).
double frechet_distance(const torch::Tensor& features_a, const torch::Tensor& features_b);

/// The symmetric positive semi-definite square root of a symmetric matrix (D, D) float64: its
/// eigenvalues clamped at 0, square-rooted.
torch::Tensor symmetric_sqrt(const torch::Tensor& matrix);

}  // namespace fi
