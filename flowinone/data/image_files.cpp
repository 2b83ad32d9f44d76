#include "flowinone/data/image_files.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <system_error>

#include "flowinone/core/atomic_file.h"
#include "flowinone/core/errors.h"
#include "flowinone/data/image_transforms.h"
#include "flowinone/io/jpeg.h"
#include "flowinone/io/png.h"

namespace fs = std::filesystem;

namespace fi {
namespace {

constexpr std::uint64_t kMaxImageFileBytes = std::uint64_t(1) << 30;

ImageFileKind kind_of(const unsigned char* bytes, std::size_t size) {
  static const unsigned char kPngSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (size >= 8 && std::equal(kPngSignature, kPngSignature + 8, bytes)) return ImageFileKind::kPng;
  if (size >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF) {
    return ImageFileKind::kJpeg;
  }
  return ImageFileKind::kNotImage;
}

}  // namespace

ImageFileKind sniff_image_file(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) return ImageFileKind::kNotImage;
  unsigned char head[8] = {0};
  const std::size_t got = std::fread(head, 1, sizeof(head), file);
  std::fclose(file);
  return kind_of(head, got);
}

Image read_image_file(const std::string& path) {
  const std::string bytes = read_file(path, kMaxImageFileBytes);
  switch (kind_of(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size())) {
    case ImageFileKind::kPng:
      return decode_png(bytes, path);
    case ImageFileKind::kJpeg:
      return decode_jpeg(bytes, path);
    case ImageFileKind::kNotImage:
      break;
  }
  throw FileError("[read_image_file] " + path + ": neither PNG nor JPEG (unknown signature)");
}

std::vector<std::string> list_image_files(const std::string& dir, bool strict,
                                          std::vector<std::string>* warnings) {
  std::error_code error;
  check_file(fs::is_directory(dir, error), "[list_image_files] ", dir, ": not a directory");
  std::vector<std::string> names;
  fs::directory_iterator it(dir, error);
  check_file(!error, "[list_image_files] ", dir, ": cannot list: ", error.message());
  for (; it != fs::directory_iterator(); it.increment(error)) {
    const std::string name = it->path().filename().string();
    if (!name.empty() && name[0] != '.' && !fs::is_directory(it->path(), error)) {
      names.push_back(name);
    }
  }
  check_file(!error, "[list_image_files] ", dir, ": cannot list: ", error.message());
  std::sort(names.begin(), names.end());
  std::vector<std::string> images;
  for (const std::string& name : names) {
    const std::string path = dir + "/" + name;
    const ImageFileKind kind = sniff_image_file(path);
    if (kind == ImageFileKind::kNotImage) {
      check_file(!strict, "[list_image_files] ", path,
                 ": not a PNG or JPEG file (strict mode refuses non-image files)");
      if (warnings != nullptr) warnings->push_back(path + ": not a PNG or JPEG file, skipped");
      continue;
    }
    check_file(kind != ImageFileKind::kJpeg || jpeg_supported(), "[list_image_files] ", path,
               ": a JPEG file, but this build has no libjpeg; install libjpeg-dev and rebuild, ",
               "or convert the pictures to PNG");
    images.push_back(path);
  }
  return images;
}

torch::Tensor load_image_tensor(const std::string& path, int size, int channels) {
  check_arg(channels == 1 || channels == 3, "[load_image_tensor] channels must be 1 or 3, got ",
            channels);
  // Drop channels before resampling and add them after: the resize then touches fewer bytes.
  Image image = read_image_file(path);
  if (image.channels > channels) image = convert_channels(image, channels);
  image = resize_center_crop(image, size);
  if (image.channels != channels) image = convert_channels(image, channels);
  return image_to_tensor(image);
}

}  // namespace fi
