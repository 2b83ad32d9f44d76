// Text for visual prompts: two bitmap faces, measured and wrapped to fit a canvas.
//
// kSmall is a 3x5 face (4 px advance, 6 px line) made for 32-px canvases: eight characters fit
// on one 32-px line, so every Fashion-MNIST class name fits once wrapped. It has no lowercase:
// letters draw as capitals, and reading text back (text_reader.h) is case-insensitive.
// kLarge is the 5x7 plot font of fonts/bitmap_font.h (6 px advance, lowercase included), legible
// from 48 px up. Every printable ASCII character has a glyph in both faces; other bytes draw
// as a box. A glyph is drawn at an integer `scale`: each font pixel a scale x scale square.
#pragma once

#include <string>
#include <vector>

namespace fi {

enum class FontFace { kSmall, kLarge };

/// "small" or "large"; throws std::invalid_argument listing both otherwise.
FontFace parse_font_face(const std::string& name);
std::string to_string(FontFace face);

struct TextStyle {
  FontFace face = FontFace::kSmall;
  int scale = 1;  // each font pixel is scale x scale canvas pixels
};

/// Glyph cell size in font pixels (3x5 or 5x7).
int glyph_width(FontFace face);
int glyph_height(FontFace face);

/// Whether font pixel (column, row) of the glyph for `c` is ink; column 0 is the leftmost.
bool glyph_ink(FontFace face, char c, int column, int row);

/// Width in canvas pixels of `text` on one line: one blank font column between glyphs, none
/// after the last. Throws std::invalid_argument for a scale below 1.
int text_width(const std::string& text, const TextStyle& style);

/// Height in canvas pixels of one line (the glyph height; no blank row below).
int text_line_height(const TextStyle& style);

/// Distance between the tops of two lines (glyph height plus one blank font row).
int text_line_advance(const TextStyle& style);

/// Splits `text` into lines no wider than `max_width`: at spaces, and after '-' or '/' inside
/// a word that is too wide alone ("bottom-right" -> "bottom-", "right"). Throws
/// std::invalid_argument naming the text, the piece and both widths when a piece still does
/// not fit.
std::vector<std::string> wrap_text(const std::string& text, const TextStyle& style, int max_width);

/// The characters a reader distinguishes: printable ASCII without space and lowercase
/// (the small face draws lowercase as capitals).
const std::string& readable_characters();

}  // namespace fi
