#include "flowinone/prompts/item_source.h"

#include <cctype>
#include <cmath>

#include "flowinone/core/errors.h"
#include "flowinone/data/pixels.h"

namespace fi {
namespace {

void check_index(std::int64_t index, std::int64_t size, const char* where) {
  check_arg(index >= 0 && index < size, "[", where, "] item index ", index, " outside [0, ", size,
            ")");
}

}  // namespace

std::vector<std::string> prompt_class_names() {
  std::vector<std::string> names = fashion_mnist_class_names();
  for (auto& name : names) {
    for (char& c : name) c = char(std::tolower(static_cast<unsigned char>(c)));
  }
  return names;
}

FashionMnistItems::FashionMnistItems(Split split, const std::string& dir)
    : set_(load_fashion_mnist(split, dir)), names_(prompt_class_names()) {}

std::int64_t FashionMnistItems::size() const { return set_.images.size(0); }

torch::Tensor FashionMnistItems::item(std::int64_t index) const {
  check_index(index, size(), "FashionMnistItems::item");
  return pixels_to_unit_range(set_.images[index]);
}

std::int64_t FashionMnistItems::label(std::int64_t index) const {
  check_index(index, size(), "FashionMnistItems::label");
  return set_.labels[index].item<std::int64_t>();
}

SyntheticItems::SyntheticItems(std::int64_t count) : count_(count), names_(prompt_class_names()) {
  check_arg(count > 0, "[SyntheticItems] count ", count, " must be positive");
}

std::int64_t SyntheticItems::label(std::int64_t index) const {
  check_index(index, count_, "SyntheticItems::label");
  return index % 10;
}

torch::Tensor SyntheticItems::item(std::int64_t index) const {
  check_index(index, count_, "SyntheticItems::item");
  const std::int64_t c = index % 10;
  const std::int64_t variant = index / 10;
  // Half-sizes in pixels: classes differ in shape and proportions, variants by a pixel or two.
  const double half_width = 4.0 + 2.0 * double(c % 5) + double(variant % 3);
  const double half_height = 12.0 - 1.5 * double(c % 4) - double(variant % 2);
  const bool ellipse = c >= 5;
  const double brightness = 0.6 + 0.04 * double(c);
  torch::Tensor image = torch::full({1, kItemSize, kItemSize}, -1.0f);
  auto pixels = image.accessor<float, 3>();
  for (int y = 0; y < kItemSize; ++y) {
    for (int x = 0; x < kItemSize; ++x) {
      const double dx = (x + 0.5 - kItemSize / 2.0) / half_width;
      const double dy = (y + 0.5 - kItemSize / 2.0) / half_height;
      const bool inside =
          ellipse ? dx * dx + dy * dy <= 1.0 : std::abs(dx) <= 1 && std::abs(dy) <= 1;
      if (!inside) continue;
      const bool stripe = std::abs(dy) < 0.15;
      pixels[0][y][x] = float(stripe ? brightness - 0.9 : brightness);
    }
  }
  return image;
}

}  // namespace fi
