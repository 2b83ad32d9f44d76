#include "flowinone/io/image.h"

#include "flowinone/core/errors.h"

namespace fi {

Image::Image(int width, int height, int channels, std::uint8_t fill)
    : width(width), height(height), channels(channels) {
  check_arg(width > 0 && height > 0, "[Image] size must be positive, got ", width, "x", height);
  check_arg(channels == 1 || channels == 3 || channels == 4,
            "[Image] channels must be 1, 3 or 4, got ", channels);
  pixels.assign(std::size_t(width) * height * channels, fill);
}

}  // namespace fi
