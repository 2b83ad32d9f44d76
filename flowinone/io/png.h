// PNG files through libpng: 8-bit gray, RGB and RGBA.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "flowinone/io/image.h"

namespace fi {

/// Writes `image` as PNG atomically. `text` entries become tEXt chunks (e.g. the generation
/// parameters). Throws FileError on failure.
void write_png(const std::string& path, const Image& image,
               const std::map<std::string, std::string>& text = {});

/// Encodes `image` as PNG bytes in memory.
std::string encode_png(const Image& image, const std::map<std::string, std::string>& text = {});

/// Reads an 8-bit or 16-bit PNG of any color type, converted to 8-bit gray, RGB or RGBA.
/// Treats the file as hostile: checks the signature and limits the size (<= 16384 per side)
/// before allocating. Throws FileError naming the path.
Image read_png(const std::string& path);

/// Decodes PNG bytes with the same checks as read_png; `source` names them in errors. When
/// `text` is given it receives the tEXt/zTXt/iTXt entries.
Image decode_png(const std::string& bytes, const std::string& source,
                 std::map<std::string, std::string>* text = nullptr);

/// What a PNG's IHDR chunk says, read without decoding anything else.
struct PngHeader {
  std::uint32_t width = 0;   // 1 .. 2^31 - 1
  std::uint32_t height = 0;  // 1 .. 2^31 - 1
  int bit_depth = 0;         // 1, 2, 4, 8 or 16
  int color_type = 0;        // 0 gray, 2 RGB, 3 palette, 4 gray + alpha, 6 RGBA
};

/// Parses the signature and the IHDR chunk, the first 33 bytes of `bytes` (more are ignored):
/// their length, type, CRC, sizes and depth. Lets a caller refuse a picture of the wrong size
/// before its pixels are inflated. Throws FileError naming `source`.
PngHeader decode_png_header(const std::string& bytes, const std::string& source);

/// Reads only the first 33 bytes of the file at `path` and decodes them as decode_png_header.
PngHeader read_png_header(const std::string& path);

}  // namespace fi
