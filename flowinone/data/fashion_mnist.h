// Fashion-MNIST (Xiao, Rasul and Vollgraf 2017): 70,000 gray 28x28 pictures of clothing in 10
// classes, 60,000 for training and 10,000 for testing, read from the IDX files that Debian's
// dataset-fashion-mnist package installs (gzip'd; plain files with the same names minus ".gz"
// are read too).
#pragma once

#include <torch/types.h>

#include <string>
#include <vector>

namespace fi {

/// Where Debian's dataset-fashion-mnist package puts the files.
inline const char* const kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

enum class Split { kTrain, kTest };

/// "train" or "test"; throws std::invalid_argument listing both otherwise.
Split parse_split(const std::string& name);
std::string to_string(Split split);

/// Labelled images in memory.
struct ImageSet {
  torch::Tensor images;  // (N, C, H, W) uint8
  torch::Tensor labels;  // (N) int64
};

/// Reads a pair of IDX files: images (N, H, W) or (N, C, H, W) uint8, labels (N) uint8, with
/// labels below `num_classes`. Throws FileError naming the file that is wrong.
ImageSet load_idx_image_set(const std::string& images_path, const std::string& labels_path,
                            int num_classes);

/// One split of Fashion-MNIST from `dir`: images (N, 1, 28, 28) uint8, labels (N) int64 in
/// [0, 10), N = 60,000 (train) or 10,000 (test). Throws FileError when a file is missing or wrong.
ImageSet load_fashion_mnist(Split split, const std::string& dir = kFashionMnistDir);

/// Whether the four files (gzip'd or plain) are present in `dir`.
bool fashion_mnist_available(const std::string& dir = kFashionMnistDir);

/// The ten class names, by label: "T-shirt/top", "Trouser", ..., "Ankle boot".
const std::vector<std::string>& fashion_mnist_class_names();

}  // namespace fi
