// Picture files on disk: recognising them by content, listing a folder's pictures, and turning one
// into a model input. Shared by the image-folder and paired-folder datasets.
//
// A file is a picture when its first bytes are a PNG or JPEG signature, whatever its extension;
// anything else (text, a .DS_Store, a PNG renamed .txt is still a PNG) is a "non-image file".
// Hidden entries (names starting with '.') are skipped silently.
#pragma once

#include <torch/types.h>

#include <string>
#include <vector>

#include "flowinone/io/image.h"

namespace fi {

enum class ImageFileKind { kNotImage, kPng, kJpeg };

/// The kind of the file at `path`, from its first bytes; kNotImage when unreadable.
ImageFileKind sniff_image_file(const std::string& path);

/// Reads a PNG or JPEG (by content). Throws FileError naming the path for anything else, and for
/// JPEG when this build has no libjpeg.
Image read_image_file(const std::string& path);

/// The pictures directly inside `dir` (not in sub-folders), sorted by name. Non-image files are
/// appended to `warnings` (one line each, naming the file), or throw FileError when `strict`.
/// Sub-folders are ignored. A JPEG in a build without libjpeg is a FileError.
std::vector<std::string> list_image_files(const std::string& dir, bool strict,
                                          std::vector<std::string>* warnings);

/// The picture at `path` as a model input: converted to `channels` (1 or 3), shorter side resized
/// to `size`, centre-cropped to size x size, as (channels, size, size) float32 in [-1, 1].
torch::Tensor load_image_tensor(const std::string& path, int size, int channels);

}  // namespace fi
