// Scores of a set of generated images with the Fashion-MNIST classifier (eval/classifier.h):
//
//   fid             Frechet distance between the classifier's penultimate features of the images
//                   and of the reference (real) images (eval/fid.h)
//   class_accuracy  share of images the classifier assigns to the class they were asked for
//
// and the two baselines every figure is printed beside: samples of a Gaussian fitted to the data's
// pixels (mean and full covariance), and the images of an untrained model.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <optional>

#include "flowinone/eval/classifier.h"
#include "flowinone/eval/fid.h"

namespace fi {

struct ImageScores {
  double fid = 0;
  std::optional<double> class_accuracy;  // when labels were given
};

/// images (N, C, H, W) in [-1, 1]; labels (N) int64 the requested classes, or undefined.
/// Throws std::invalid_argument when the shapes do not fit the classifier or each other.
ImageScores score_images(ImageClassifier& classifier, const torch::Tensor& images,
                         const torch::Tensor& labels, const FeatureStatistics& reference);

/// The classifier's feature statistics of real images (N, C, H, W) in [-1, 1].
FeatureStatistics reference_statistics(ImageClassifier& classifier, const torch::Tensor& images);

/// n samples (n, C, H, W) of the Gaussian with the mean and covariance of `data`'s pixels
/// (N, C, H, W), clamped to [-1, 1]; drawn with `seed`. The covariance gets a small ridge so that
/// its Cholesky factor exists for pixels that never vary (image borders).
torch::Tensor gaussian_fit_samples(const torch::Tensor& data, std::int64_t n, std::uint64_t seed);

}  // namespace fi
