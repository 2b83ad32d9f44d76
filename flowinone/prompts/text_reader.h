// Reading bitmap text back from an image by template matching: the judge that a word written
// by a model is legible.
//
// The reader knows where a line of text should start and in which style (it judges a task
// whose answer it knows), looks within a small window of offsets for the best alignment, and
// names each glyph cell, with a border of one font pixel that a template keeps blank, by the
// template with the highest normalized correlation against the cell. Ink is brighter than the
// background unless told otherwise.
#pragma once

#include <torch/types.h>

#include <string>

#include "flowinone/fonts/prompt_font.h"

namespace fi {

struct TextReading {
  std::string text;       // the characters read, capitals (readable_characters())
  double mean_score = 0;  // mean over cells of the winning correlation, in [-1, 1]
  int dx = 0;             // the offset of the best alignment, pixels
  int dy = 0;
};

/// Reads `num_characters` glyph cells of one line of text starting at (x, y) in `image`
/// (1, H, W), trying every offset within +-`search` pixels; `ink_is_bright` false for dark
/// text on a light ground. A cell without contrast reads as a space. Throws
/// std::invalid_argument for a bad image or a line that cannot lie inside the image with a
/// one-font-pixel border.
TextReading read_text(const torch::Tensor& image, int x, int y, int num_characters,
                      const TextStyle& style = {}, int search = 1, bool ink_is_bright = true);

/// Whether `read` spells `expected`, ignoring case.
bool same_text_ignoring_case(const std::string& read, const std::string& expected);

}  // namespace fi
