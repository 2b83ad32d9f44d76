// Where the prompt tasks take their items (the pictures that get edited, moved or asked for):
// Fashion-MNIST, or a synthetic set of shapes that lets tests run without the data files.
//
// An item is a (1, 28, 28) float image in [-1, 1], background -1 (Fashion-MNIST's black), with
// a class label and a class name that a prompt can write ("sneaker", "ankle boot").
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "flowinone/data/fashion_mnist.h"

namespace fi {

constexpr int kItemSize = 28;

class ItemSource {
 public:
  virtual ~ItemSource() = default;
  /// Number of items (> 0).
  virtual std::int64_t size() const = 0;
  /// Item `index` in [0, size()): (1, 28, 28) float32 in [-1, 1], background -1.
  virtual torch::Tensor item(std::int64_t index) const = 0;
  /// Its class in [0, class_names().size()).
  virtual std::int64_t label(std::int64_t index) const = 0;
  /// Class names as prompts write them, lowercase.
  virtual const std::vector<std::string>& class_names() const = 0;
};

/// Fashion-MNIST items of one split (load_fashion_mnist); class names lowercased
/// ("t-shirt/top", ..., "ankle boot"). Throws FileError when the files are missing or wrong.
class FashionMnistItems : public ItemSource {
 public:
  explicit FashionMnistItems(Split split = Split::kTrain,
                             const std::string& dir = kFashionMnistDir);
  std::int64_t size() const override;
  torch::Tensor item(std::int64_t index) const override;
  std::int64_t label(std::int64_t index) const override;
  const std::vector<std::string>& class_names() const override { return names_; }

 private:
  ImageSet set_;
  std::vector<std::string> names_;
};

/// `count` synthetic items in 10 classes: item i is class i % 10, a bright filled shape
/// (rectangles and ellipses of class-specific size, varied a little by i) with a darker
/// inner stripe, so that it has inner edges too. Class names are Fashion-MNIST's, lowercased.
class SyntheticItems : public ItemSource {
 public:
  explicit SyntheticItems(std::int64_t count = 100);
  std::int64_t size() const override { return count_; }
  torch::Tensor item(std::int64_t index) const override;
  std::int64_t label(std::int64_t index) const override;
  const std::vector<std::string>& class_names() const override { return names_; }

 private:
  std::int64_t count_ = 0;
  std::vector<std::string> names_;
};

/// Fashion-MNIST's class names in lowercase, as prompts write them.
std::vector<std::string> prompt_class_names();

}  // namespace fi
