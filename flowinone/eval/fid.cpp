#include "flowinone/eval/fid.h"

#include <ATen/ATen.h>

#include <tuple>

#include "flowinone/core/errors.h"

namespace fi {

namespace {

// (A + A^T) / 2: removes the rounding asymmetry before an eigendecomposition that assumes
// symmetry (it reads only one triangle).
torch::Tensor symmetrized(const torch::Tensor& matrix) { return 0.5 * (matrix + matrix.t()); }

void check_statistics(const FeatureStatistics& s, const char* which) {
  check_arg(
      s.mean.defined() && s.covariance.defined() && s.mean.dim() == 1 && s.covariance.dim() == 2 &&
          s.covariance.size(0) == s.mean.size(0) && s.covariance.size(1) == s.mean.size(0),
      "[frechet_distance] statistics ", which, " must have a mean (D) and a covariance (D, D)");
}

}  // namespace

FeatureStatistics feature_statistics(const torch::Tensor& features) {
  check_arg(
      features.defined() && features.dim() == 2 && features.size(0) >= 2 && features.size(1) >= 1,
      "[feature_statistics] features must be (N, D) with N >= 2, got ",
      features.defined() ? features.sizes() : torch::IntArrayRef{});
  check_arg(features.is_floating_point(), "[feature_statistics] features must be floating, got ",
            features.scalar_type());
  const torch::Tensor x = features.detach().to(torch::kCPU, torch::kFloat64);
  check_arg(torch::isfinite(x).all().item<bool>(),
            "[feature_statistics] features contain NaN or infinite values");
  FeatureStatistics statistics;
  statistics.count = x.size(0);
  statistics.mean = x.mean(0);
  const torch::Tensor centered = x - statistics.mean;
  statistics.covariance =
      symmetrized(torch::matmul(centered.t(), centered) / static_cast<double>(x.size(0) - 1));
  return statistics;
}

torch::Tensor symmetric_sqrt(const torch::Tensor& matrix) {
  check_arg(matrix.dim() == 2 && matrix.size(0) == matrix.size(1),
            "[symmetric_sqrt] matrix must be square, got ", matrix.sizes());
  torch::Tensor eigenvalues, eigenvectors;
  std::tie(eigenvalues, eigenvectors) =
      at::linalg_eigh(symmetrized(matrix.to(torch::kFloat64)), "L");
  const torch::Tensor roots = eigenvalues.clamp_min(0).sqrt();
  return symmetrized(torch::matmul(eigenvectors * roots.unsqueeze(0), eigenvectors.t()));
}

double frechet_distance(const FeatureStatistics& a, const FeatureStatistics& b) {
  check_statistics(a, "a");
  check_statistics(b, "b");
  check_arg(a.mean.size(0) == b.mean.size(0),
            "[frechet_distance] feature dimensions differ: ", a.mean.size(0), " and ",
            b.mean.size(0));
  const torch::Tensor mean_a = a.mean.to(torch::kCPU, torch::kFloat64);
  const torch::Tensor mean_b = b.mean.to(torch::kCPU, torch::kFloat64);
  const torch::Tensor cov_a = symmetrized(a.covariance.to(torch::kCPU, torch::kFloat64));
  const torch::Tensor cov_b = symmetrized(b.covariance.to(torch::kCPU, torch::kFloat64));

  const double mean_term = (mean_a - mean_b).pow(2).sum().item<double>();
  const torch::Tensor root_a = symmetric_sqrt(cov_a);
  const torch::Tensor middle = symmetrized(torch::matmul(torch::matmul(root_a, cov_b), root_a));
  const torch::Tensor middle_eigenvalues = at::linalg_eigvalsh(middle, "L");
  const double trace_root = middle_eigenvalues.clamp_min(0).sqrt().sum().item<double>();
  const double distance =
      mean_term + cov_a.trace().item<double>() + cov_b.trace().item<double>() - 2.0 * trace_root;
  // Rounding can leave a tiny negative value for (nearly) identical sets; the distance is >= 0.
  return distance < 0 ? 0.0 : distance;
}

double frechet_distance(const torch::Tensor& features_a, const torch::Tensor& features_b) {
  return frechet_distance(feature_statistics(features_a), feature_statistics(features_b));
}

}  // namespace fi
