// JPEG files through libjpeg (libjpeg-turbo on Debian): 8-bit gray and RGB.
//
// libjpeg is optional at build time. Without it (CMake found no JPEG package, so
// FLOWINONE_HAVE_JPEG is undefined) every function here throws FileError saying that this build
// cannot read JPEG; jpeg_supported() tells callers in advance.
#pragma once

#include <string>

#include "flowinone/io/image.h"

namespace fi {

/// Whether this build was linked against libjpeg.
bool jpeg_supported();

/// Whether `bytes` start with the JPEG start-of-image marker (FF D8 FF).
bool looks_like_jpeg(const std::string& bytes);

/// Decodes a baseline or progressive JPEG to 8-bit gray (1 channel) or RGB (3 channels).
/// Treats the bytes as hostile: libjpeg errors longjmp back here and become FileError naming
/// `source`, a stream that ends early is an error (not a gray-filled picture), and the size
/// (<= 16384 per side, <= 2^28 pixels) and libjpeg's working memory are capped before decoding.
/// CMYK/YCCK files are refused.
Image decode_jpeg(const std::string& bytes, const std::string& source);

/// Reads and decodes a JPEG file; throws FileError naming the path.
Image read_jpeg(const std::string& path);

/// Encodes a gray or RGB image as JPEG, `quality` in 1..100. Alpha is not supported.
std::string encode_jpeg(const Image& image, int quality = 90);

/// Writes `image` as JPEG atomically. Throws FileError on failure.
void write_jpeg(const std::string& path, const Image& image, int quality = 90);

}  // namespace fi
