// The image-dataset interface the trainer and the background loader consume, and its in-memory
// implementation (Fashion-MNIST and any other labelled uint8 tensor).
//
// An example is one picture as a (C, H, W) float32 tensor in [-1, 1] (0 -> -1, 255 -> 1), its
// class (-1 when the dataset has none) and, for image-to-image datasets, the target picture.
// Every example of a dataset has the same shape. get() and get_batch() must be safe to call from
// several threads at once: the loader's workers do.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "flowinone/data/fashion_mnist.h"

namespace fi {

struct ImageExample {
  torch::Tensor image;      // (C, H, W) float32 in [-1, 1]
  std::int64_t label = -1;  // class in [0, num_classes), -1 when unlabelled
  torch::Tensor target;     // (C', H, W) float32 in [-1, 1] for paired datasets; else undefined
};

struct ImageBatch {
  torch::Tensor images;   // (B, C, H, W) float32 in [-1, 1]
  torch::Tensor labels;   // (B) int64, -1 where unlabelled
  torch::Tensor targets;  // (B, C', H, W) float32 for paired datasets; else undefined
};

class ImageDataset {
 public:
  virtual ~ImageDataset() = default;
  virtual std::int64_t size() const = 0;
  /// Example `index` in [0, size()); throws std::out_of_range outside, FileError for a bad file.
  virtual ImageExample get(std::int64_t index) const = 0;
  /// The examples at `indices`, stacked; when `flip` is given, examples with flip[i] true are
  /// mirrored left to right (image and target alike). The default stacks get(); in-memory
  /// datasets gather directly.
  virtual ImageBatch get_batch(const std::vector<std::int64_t>& indices,
                               const std::vector<bool>& flip = {}) const;
  /// Number of classes; 0 when the dataset is unlabelled.
  virtual int num_classes() const = 0;
  /// Class names by label (num_classes() of them).
  virtual std::vector<std::string> class_names() const = 0;
  virtual int channels() const = 0;
  virtual int height() const = 0;
  virtual int width() const = 0;
  /// Channels of the targets; 0 when the dataset is not paired.
  virtual int target_channels() const { return 0; }
};

/// Examples 0 .. min(n, size) - 1 stacked: the fixed pictures that previews and scores use.
ImageBatch first_examples(const ImageDataset& dataset, std::int64_t n);

/// Labelled uint8 images held in memory, converted to [-1, 1] per batch.
class InMemoryImageDataset : public ImageDataset {
 public:
  /// images (N, C, H, W) uint8, labels (N) int64 in [0, class_names.size()) (or all -1 with no
  /// class names). Throws std::invalid_argument otherwise.
  InMemoryImageDataset(ImageSet set, std::vector<std::string> class_names);

  std::int64_t size() const override { return images_.size(0); }
  ImageExample get(std::int64_t index) const override;
  ImageBatch get_batch(const std::vector<std::int64_t>& indices,
                       const std::vector<bool>& flip = {}) const override;
  int num_classes() const override { return int(class_names_.size()); }
  std::vector<std::string> class_names() const override { return class_names_; }
  int channels() const override { return int(images_.size(1)); }
  int height() const override { return int(images_.size(2)); }
  int width() const override { return int(images_.size(3)); }

  /// The raw set: images (N, C, H, W) uint8, labels (N) int64.
  const ImageSet& image_set() const { return set_; }

 private:
  ImageSet set_;
  torch::Tensor images_;  // contiguous (N, C, H, W) uint8
  torch::Tensor labels_;  // contiguous (N) int64
  std::vector<std::string> class_names_;
};

/// Fashion-MNIST as a dataset: (1, 28, 28) images, 10 classes with their names.
InMemoryImageDataset fashion_mnist_dataset(Split split, const std::string& dir = kFashionMnistDir);

}  // namespace fi
