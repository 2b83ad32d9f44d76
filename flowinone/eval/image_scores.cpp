#include "flowinone/eval/image_scores.h"

#include "flowinone/core/errors.h"
#include "flowinone/core/random.h"

namespace fi {

ImageScores score_images(ImageClassifier& classifier, const torch::Tensor& images,
                         const torch::Tensor& labels, const FeatureStatistics& reference) {
  const ClassifierOptions& options = classifier.options();
  check_arg(images.dim() == 4 && images.size(0) >= 2 && images.size(1) == options.in_channels &&
                images.size(2) == options.image_size && images.size(3) == options.image_size,
            "[score_images] images must be (N >= 2, ", options.in_channels, ", ",
            options.image_size, ", ", options.image_size, ") for the classifier, got ",
            images.sizes());
  ImageScores scores;
  scores.fid =
      frechet_distance(feature_statistics(classifier_features(classifier, images)), reference);
  if (labels.defined()) {
    check_arg(labels.dim() == 1 && labels.size(0) == images.size(0),
              "[score_images] labels must be (", images.size(0), "), got ", labels.sizes());
    const torch::Tensor predicted = classifier_predictions(classifier, images).cpu();
    scores.class_accuracy = predicted.eq(labels.cpu()).to(torch::kFloat64).mean().item<double>();
  }
  return scores;
}

FeatureStatistics reference_statistics(ImageClassifier& classifier, const torch::Tensor& images) {
  return feature_statistics(classifier_features(classifier, images));
}

torch::Tensor gaussian_fit_samples(const torch::Tensor& data, std::int64_t n, std::uint64_t seed) {
  check_arg(data.dim() == 4 && data.size(0) >= 2, "[gaussian_fit] data must be (N >= 2, C, H, W)");
  check_arg(n >= 1, "[gaussian_fit] n must be >= 1, got ", n);
  const torch::Tensor flat = data.reshape({data.size(0), -1}).to(torch::kCPU, torch::kFloat64);
  const torch::Tensor mean = flat.mean(0);
  const torch::Tensor centred = flat - mean;
  torch::Tensor covariance = centred.t().mm(centred) / static_cast<double>(flat.size(0) - 1);
  covariance += 1e-4 * torch::eye(covariance.size(0), covariance.options());
  const torch::Tensor factor = torch::linalg_cholesky(covariance);
  at::Generator generator = make_generator(seed);
  const torch::Tensor z = torch::randn({n, flat.size(1)}, generator, torch::kFloat64);
  std::vector<std::int64_t> shape = data.sizes().vec();
  shape[0] = n;
  return (mean + z.mm(factor.t())).clamp(-1, 1).to(torch::kFloat32).reshape(shape);
}

}  // namespace fi
