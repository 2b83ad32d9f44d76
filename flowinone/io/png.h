// PNG files through libpng: 8-bit gray, RGB and RGBA.
#pragma once

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

}  // namespace fi
