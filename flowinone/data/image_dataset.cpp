// Batches are assembled with plain copies rather than torch::stack or index_select: the loader
// calls this from its worker threads, where torch's intra-op parallelism would oversubscribe.
#include "flowinone/data/image_dataset.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "flowinone/core/errors.h"

namespace fi {
namespace {

// Mirrors each row of a (C, H, W) float plane set in place.
void flip_rows(float* chw, std::int64_t channels, std::int64_t height, std::int64_t width) {
  for (std::int64_t row = 0; row < channels * height; ++row) {
    std::reverse(chw + row * width, chw + (row + 1) * width);
  }
}

void check_flip(const std::vector<std::int64_t>& indices, const std::vector<bool>& flip) {
  check_arg(flip.empty() || flip.size() == indices.size(), "[get_batch] ", flip.size(),
            " flip flags for ", indices.size(), " indices");
}

}  // namespace

ImageBatch first_examples(const ImageDataset& dataset, std::int64_t n) {
  std::vector<std::int64_t> indices(
      static_cast<std::size_t>(std::clamp<std::int64_t>(n, 0, dataset.size())));
  for (std::size_t i = 0; i < indices.size(); ++i) indices[i] = static_cast<std::int64_t>(i);
  return dataset.get_batch(indices);
}

ImageBatch ImageDataset::get_batch(const std::vector<std::int64_t>& indices,
                                   const std::vector<bool>& flip) const {
  check_flip(indices, flip);
  const std::int64_t b = std::int64_t(indices.size());
  const std::int64_t c = channels(), h = height(), w = width(), tc = target_channels();
  ImageBatch batch;
  batch.images = at::empty({b, c, h, w}, at::kFloat);
  batch.labels = at::empty({b}, at::kLong);
  if (tc > 0) batch.targets = at::empty({b, tc, h, w}, at::kFloat);
  for (std::int64_t i = 0; i < b; ++i) {
    const ImageExample example = get(indices[i]);
    const std::int64_t image_floats = c * h * w, target_floats = tc * h * w;
    check_file(example.image.numel() == image_floats && example.image.is_contiguous() &&
                   example.image.scalar_type() == at::kFloat,
               "[get_batch] example ", indices[i], " has shape ", example.image.sizes(),
               ", expected (", c, ", ", h, ", ", w, ") float");
    float* image = batch.images.data_ptr<float>() + i * image_floats;
    std::memcpy(image, example.image.data_ptr<float>(), image_floats * sizeof(float));
    batch.labels.data_ptr<std::int64_t>()[i] = example.label;
    const bool mirror = !flip.empty() && flip[i];
    if (mirror) flip_rows(image, c, h, w);
    if (tc > 0) {
      check_file(example.target.defined() && example.target.numel() == target_floats &&
                     example.target.is_contiguous() && example.target.scalar_type() == at::kFloat,
                 "[get_batch] example ", indices[i], " has a malformed target");
      float* target = batch.targets.data_ptr<float>() + i * target_floats;
      std::memcpy(target, example.target.data_ptr<float>(), target_floats * sizeof(float));
      if (mirror) flip_rows(target, tc, h, w);
    }
  }
  return batch;
}

InMemoryImageDataset::InMemoryImageDataset(ImageSet set, std::vector<std::string> class_names)
    : set_(std::move(set)), class_names_(std::move(class_names)) {
  check_arg(
      set_.images.defined() && set_.images.dim() == 4 && set_.images.scalar_type() == at::kByte,
      "[InMemoryImageDataset] images must be (N, C, H, W) uint8");
  check_arg(set_.images.size(0) > 0 && set_.images.size(1) >= 1 && set_.images.size(2) >= 1 &&
                set_.images.size(3) >= 1,
            "[InMemoryImageDataset] images must be non-empty, got ", set_.images.sizes());
  check_arg(
      set_.labels.defined() && set_.labels.dim() == 1 && set_.labels.size(0) == set_.images.size(0),
      "[InMemoryImageDataset] labels must be (N) with N = ", set_.images.size(0));
  images_ = set_.images.to(at::kCPU).contiguous();
  labels_ = set_.labels.to(at::kCPU, at::kLong).contiguous();
  const std::int64_t low = labels_.min().item<std::int64_t>();
  const std::int64_t high = labels_.max().item<std::int64_t>();
  if (class_names_.empty()) {
    check_arg(low == -1 && high == -1,
              "[InMemoryImageDataset] labels must be -1 when there are no class names");
  } else {
    check_arg(low >= 0 && high < std::int64_t(class_names_.size()),
              "[InMemoryImageDataset] labels span ", low, "..", high, ", expected 0..",
              class_names_.size() - 1);
  }
}

ImageExample InMemoryImageDataset::get(std::int64_t index) const {
  if (index < 0 || index >= size()) {
    throw std::out_of_range("[InMemoryImageDataset] index " + std::to_string(index) +
                            " outside [0, " + std::to_string(size()) + ")");
  }
  ImageBatch batch = get_batch({index});
  return {batch.images[0], batch.labels[0].item<std::int64_t>(), {}};
}

ImageBatch InMemoryImageDataset::get_batch(const std::vector<std::int64_t>& indices,
                                           const std::vector<bool>& flip) const {
  check_flip(indices, flip);
  const std::int64_t b = std::int64_t(indices.size());
  const std::int64_t c = channels(), h = height(), w = width(), plane = c * h * w;
  ImageBatch batch;
  batch.images = at::empty({b, c, h, w}, at::kFloat);
  batch.labels = at::empty({b}, at::kLong);
  const std::uint8_t* pixels = images_.data_ptr<std::uint8_t>();
  const std::int64_t* labels = labels_.data_ptr<std::int64_t>();
  float* out = batch.images.data_ptr<float>();
  for (std::int64_t i = 0; i < b; ++i) {
    const std::int64_t index = indices[i];
    if (index < 0 || index >= size()) {
      throw std::out_of_range("[InMemoryImageDataset] index " + std::to_string(index) +
                              " outside [0, " + std::to_string(size()) + ")");
    }
    const std::uint8_t* src = pixels + index * plane;
    float* dst = out + i * plane;
    for (std::int64_t p = 0; p < plane; ++p) dst[p] = float(src[p] / 127.5 - 1.0);
    if (!flip.empty() && flip[i]) flip_rows(dst, c, h, w);
    batch.labels.data_ptr<std::int64_t>()[i] = labels[index];
  }
  return batch;
}

InMemoryImageDataset fashion_mnist_dataset(Split split, const std::string& dir) {
  return InMemoryImageDataset(load_fashion_mnist(split, dir), fashion_mnist_class_names());
}

}  // namespace fi
