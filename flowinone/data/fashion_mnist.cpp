#include "flowinone/data/fashion_mnist.h"

#include <ATen/ATen.h>

#include <filesystem>
#include <system_error>

#include "flowinone/core/errors.h"
#include "flowinone/core/named_values.h"
#include "flowinone/data/idx.h"

namespace fi {
namespace {

constexpr int kImageSide = 28;

// The file `stem` in `dir`, gzip'd if present, else plain; empty when neither exists.
std::string find_idx_file(const std::string& dir, const std::string& stem) {
  std::error_code error;
  for (const std::string& name : {stem + ".gz", stem}) {
    const std::string path = dir + "/" + name;
    if (std::filesystem::is_regular_file(path, error)) return path;
  }
  return {};
}

std::string split_prefix(Split split) { return split == Split::kTrain ? "train" : "t10k"; }

}  // namespace

namespace {
constexpr NamedValue<Split> kSplitNames[] = {{Split::kTrain, "train"}, {Split::kTest, "test"}};
}  // namespace

Split parse_split(const std::string& name) { return parse_named(kSplitNames, name, "split"); }

std::string to_string(Split split) { return name_of(kSplitNames, split); }

ImageSet load_idx_image_set(const std::string& images_path, const std::string& labels_path,
                            int num_classes) {
  check_arg(num_classes >= 1 && num_classes <= 256, "[load_idx_image_set] num_classes must be in ",
            "1..256, got ", num_classes);
  at::Tensor images = read_idx(images_path);
  check_file(images.scalar_type() == at::kByte && (images.dim() == 3 || images.dim() == 4),
             "[load_idx_image_set] ", images_path, ": expected uint8 images (N, H, W) or ",
             "(N, C, H, W), got ", images.scalar_type(), " ", images.sizes());
  if (images.dim() == 3) images = images.unsqueeze(1);
  check_file(images.size(1) >= 1 && images.size(2) >= 1 && images.size(3) >= 1,
             "[load_idx_image_set] ", images_path, ": empty image shape ", images.sizes());
  const at::Tensor labels = read_idx(labels_path);
  check_file(labels.scalar_type() == at::kByte && labels.dim() == 1, "[load_idx_image_set] ",
             labels_path, ": expected uint8 labels (N), got ", labels.scalar_type(), " ",
             labels.sizes());
  check_file(labels.size(0) == images.size(0), "[load_idx_image_set] ", labels_path, ": ",
             labels.size(0), " labels for ", images.size(0), " images in ", images_path);
  if (labels.numel() > 0) {
    const int largest = labels.max().item<int>();
    check_file(largest < num_classes, "[load_idx_image_set] ", labels_path, ": label ", largest,
               " is not below the number of classes, ", num_classes);
  }
  return {images, labels.to(at::kLong)};
}

ImageSet load_fashion_mnist(Split split, const std::string& dir) {
  const std::string prefix = split_prefix(split);
  const std::string images_stem = prefix + "-images-idx3-ubyte";
  const std::string labels_stem = prefix + "-labels-idx1-ubyte";
  const std::string images_path = find_idx_file(dir, images_stem);
  const std::string labels_path = find_idx_file(dir, labels_stem);
  check_file(!images_path.empty() && !labels_path.empty(), "[load_fashion_mnist] ", dir,
             ": missing ", images_path.empty() ? images_stem : labels_stem,
             "(.gz); on Debian install the dataset-fashion-mnist package");
  ImageSet set = load_idx_image_set(images_path, labels_path, 10);
  check_file(set.images.size(1) == 1 && set.images.size(2) == kImageSide &&
                 set.images.size(3) == kImageSide,
             "[load_fashion_mnist] ", images_path, ": expected 28x28 gray images, got ",
             set.images.sizes());
  return set;
}

bool fashion_mnist_available(const std::string& dir) {
  for (Split split : {Split::kTrain, Split::kTest}) {
    const std::string prefix = split_prefix(split);
    if (find_idx_file(dir, prefix + "-images-idx3-ubyte").empty() ||
        find_idx_file(dir, prefix + "-labels-idx1-ubyte").empty()) {
      return false;
    }
  }
  return true;
}

const std::vector<std::string>& fashion_mnist_class_names() {
  static const std::vector<std::string> names = {"T-shirt/top", "Trouser",   "Pullover", "Dress",
                                                 "Coat",        "Sandal",    "Shirt",    "Sneaker",
                                                 "Bag",         "Ankle boot"};
  return names;
}

}  // namespace fi
