// A built-in 5x7 bitmap font for plot titles and labels ("data", "t = 0.50"): printable ASCII,
// drawn at an integer scale. No kerning, no Unicode; unknown characters draw as a box.
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace fi {

constexpr int kGlyphWidth = 5;
constexpr int kGlyphHeight = 7;

/// Rows of the glyph for `c`, top to bottom; bit 4 is the leftmost column.
const std::array<std::uint8_t, kGlyphHeight>& glyph_rows(char c);

/// Width in pixels of `text` at `scale` (one blank column between glyphs, none after the last).
int text_width(const std::string& text, int scale);

/// Height in pixels of one line of text at `scale`.
inline int text_height(int scale) { return kGlyphHeight * scale; }

}  // namespace fi
