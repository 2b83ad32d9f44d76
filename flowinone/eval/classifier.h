// A small CNN classifier for 28x28 gray images (Fashion-MNIST), the feature extractor behind the
// image metrics: FID on its penultimate features (eval/fid.h) and the share of samples it assigns
// to the requested class.
//
//   x (B, 1, 28, 28) in [-1, 1]
//   -> per entry of `channels`: convs_per_block x (conv3x3 -> BatchNorm -> ReLU) -> max-pool 2x2
//                                                        28 -> 14 -> 7 -> 3 for three entries
//   -> flatten -> Linear -> ReLU = features (B, feature_dim)
//   -> dropout -> Linear = logits (B, num_classes)
//
// The model directory holds DIR/classifier.safetensors: weights and BatchNorm statistics, with
// metadata "format" = "flowinone-classifier-1", "options" (JSON) and "test_accuracy".
#pragma once

#include <c10/core/Device.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>
#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace fi {

struct ClassifierOptions {
  std::int64_t in_channels = 1;
  std::int64_t image_size = 28;                        // square inputs of this size
  std::vector<std::int64_t> channels = {32, 64, 128};  // one conv block (and pooling) each
  int convs_per_block = 1;
  std::int64_t feature_dim = 128;  // the penultimate layer: FID features
  std::int64_t num_classes = 10;
  double dropout = 0.3;  // before the head, training only
};

/// Throws std::invalid_argument naming the first bad option.
void validate_classifier_options(const ClassifierOptions& options);

class ImageClassifier : public torch::nn::Module {
 public:
  explicit ImageClassifier(const ClassifierOptions& options);
  /// x (B, in_channels, size, size) in [-1, 1] -> (B, feature_dim), after the ReLU.
  torch::Tensor features(const torch::Tensor& x);
  /// x -> (B, num_classes) unnormalized log-probabilities.
  torch::Tensor logits(const torch::Tensor& x);
  torch::Tensor forward(const torch::Tensor& x) { return logits(x); }
  const ClassifierOptions& options() const { return options_; }

 private:
  ClassifierOptions options_;
  torch::nn::Sequential convolutions_{nullptr};
  torch::nn::Linear feature_layer_{nullptr};
  torch::nn::Linear head_{nullptr};
};

using ImageClassifierPtr = std::shared_ptr<ImageClassifier>;

struct ClassifierTrainOptions {
  int epochs = 4;  // 92.6% test accuracy on Fashion-MNIST (seed 0)
  std::int64_t batch_size = 128;
  double learning_rate = 3e-3;  // AdamW peak; one-cycle: linear warm-up, cosine decay to 0
  double warmup_fraction = 0.1;
  double weight_decay = 5e-4;
  bool horizontal_flip = true;  // augmentation: clothing mirrored is still the same class
  std::uint64_t seed = 0;       // weights (global generator) and batch order/augmentation
};

/// Per-epoch progress, handed to the callback.
struct ClassifierEpoch {
  int epoch = 0;  // 1-based
  double train_loss = 0;
  double train_accuracy = 0;  // on the augmented batches, in training mode
  double test_accuracy = 0;
  double seconds = 0;  // since training started
};

struct ClassifierTrainResult {
  ImageClassifierPtr model;  // eval mode, on the training device
  double test_accuracy = 0;
  double seconds = 0;
  std::vector<ClassifierEpoch> epochs;
};

/// Trains a classifier with cross-entropy on images (N, C, H, W) float in [-1, 1] and labels (N)
/// int64, scoring test accuracy after every epoch. Seeds torch's global generator with
/// options.seed. Throws std::invalid_argument for bad options or data.
ClassifierTrainResult train_classifier(
    const ClassifierOptions& model_options, const torch::Tensor& train_images,
    const torch::Tensor& train_labels, const torch::Tensor& test_images,
    const torch::Tensor& test_labels, const ClassifierTrainOptions& options,
    const c10::Device& device = c10::Device(c10::kCPU),
    const std::function<void(const ClassifierEpoch&)>& on_epoch = {});

/// Features of images (N, C, H, W) in [-1, 1], in batches, without gradients: (N, feature_dim)
/// float32 on the model's device.
torch::Tensor classifier_features(ImageClassifier& model, const torch::Tensor& images,
                                  std::int64_t batch_size = 500);

/// Predicted classes (N) int64 of images, in batches, without gradients.
torch::Tensor classifier_predictions(ImageClassifier& model, const torch::Tensor& images,
                                     std::int64_t batch_size = 500);

/// Share of images whose predicted class equals the label (N) int64.
double classification_accuracy(ImageClassifier& model, const torch::Tensor& images,
                               const torch::Tensor& labels, std::int64_t batch_size = 500);

/// Writes DIR/classifier.safetensors atomically (creating DIR), the options and the test accuracy
/// in its metadata.
void save_classifier(const std::string& dir, ImageClassifier& model, double test_accuracy);

struct LoadedClassifier {
  ImageClassifierPtr model;  // eval mode, on the requested device
  double test_accuracy = 0;  // as recorded when it was saved
};

/// Loads what save_classifier wrote. Throws FileError naming the file when the directory or file
/// is missing, of another format, or its tensors do not match the recorded options.
LoadedClassifier load_classifier(const std::string& dir,
                                 const c10::Device& device = c10::Device(c10::kCPU));

}  // namespace fi
