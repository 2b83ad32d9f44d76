#include "flowinone/prompts/text_reader.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <vector>

#include "flowinone/core/errors.h"

namespace fi {
namespace {

// A glyph as zero-mean, unit-norm font pixels, ready for correlation.
struct Template {
  char c = ' ';
  std::vector<double> values;
};

std::vector<double> normalized(std::vector<double> values) {
  double mean = 0;
  for (double v : values) mean += v;
  mean /= double(values.size());
  double norm = 0;
  for (double& v : values) {
    v -= mean;
    norm += v * v;
  }
  norm = std::sqrt(norm);
  if (norm < 1e-6) return {};  // no contrast
  for (double& v : values) v /= norm;
  return values;
}

const std::vector<Template>& templates(FontFace face) {
  static const auto build = [](FontFace f) {
    std::vector<Template> all;
    std::string characters = readable_characters();
    if (f == FontFace::kLarge) characters += "abcdefghijklmnopqrstuvwxyz";  // only it has them
    for (char c : characters) {
      std::vector<double> values;
      for (int row = -1; row <= glyph_height(f); ++row) {
        for (int column = -1; column <= glyph_width(f); ++column) {
          values.push_back(glyph_ink(f, c, column, row) ? 1.0 : 0.0);
        }
      }
      all.push_back({c, normalized(values)});
    }
    return all;
  };
  static const std::vector<Template> small = build(FontFace::kSmall);
  static const std::vector<Template> large = build(FontFace::kLarge);
  return face == FontFace::kSmall ? small : large;
}

}  // namespace

TextReading read_text(const torch::Tensor& image, int x, int y, int num_characters,
                      const TextStyle& style, int search, bool ink_is_bright) {
  check_arg(image.defined() && image.dim() == 3 && image.size(0) == 1,
            "[read_text] image must be (1, H, W)");
  check_arg(num_characters >= 1, "[read_text] number of characters ", num_characters,
            " must be at least 1");
  check_arg(search >= 0, "[read_text] search radius ", search, " must be non-negative");
  const torch::Tensor pixels = image.detach().to(torch::kCPU, torch::kFloat64).contiguous();
  const int height = int(pixels.size(1));
  const int width = int(pixels.size(2));
  const double* data = pixels.data_ptr<double>();
  const int gw = glyph_width(style.face);
  const int gh = glyph_height(style.face);
  const int advance = (gw + 1) * style.scale;
  const int line_width = text_width(std::string(std::size_t(num_characters), 'x'), style);
  const int line_height = text_line_height(style);
  const double sign = ink_is_bright ? 1.0 : -1.0;

  TextReading best;
  bool found = false;
  double best_total = -1e300;
  // Offsets nearest first; a farther alignment must win by more than rounding.
  std::vector<std::pair<int, int>> offsets;
  for (int dy = -search; dy <= search; ++dy)
    for (int dx = -search; dx <= search; ++dx) offsets.emplace_back(dx, dy);
  std::stable_sort(offsets.begin(), offsets.end(), [](const auto& a, const auto& b) {
    return std::abs(a.first) + std::abs(a.second) < std::abs(b.first) + std::abs(b.second);
  });
  for (const auto& [dx, dy] : offsets) {
    const int left = x + dx;
    const int top = y + dy;
    // Each cell is read with a border of one font pixel, which must be blank in a template:
    // without it a window one pixel off can read other glyphs perfectly ("GO" as "((").
    const int border = style.scale;
    if (left - border < 0 || top - border < 0 || left + line_width + border > width ||
        top + line_height + border > height)
      continue;
    TextReading reading;
    reading.dx = dx;
    reading.dy = dy;
    double total = 0;
    for (int i = 0; i < num_characters; ++i) {
      // The cell averaged down to font pixels.
      std::vector<double> cell;
      for (int row = -1; row <= gh; ++row) {
        for (int column = -1; column <= gw; ++column) {
          double sum = 0;
          for (int sy = 0; sy < style.scale; ++sy) {
            for (int sx = 0; sx < style.scale; ++sx) {
              const int px = left + i * advance + column * style.scale + sx;
              const int py = top + row * style.scale + sy;
              sum += data[std::size_t(py) * width + px];
            }
          }
          cell.push_back(sign * sum / (style.scale * style.scale));
        }
      }
      const std::vector<double> normal = normalized(cell);
      char winner = ' ';
      double winner_score = 0;
      if (!normal.empty()) {
        winner_score = -2;
        for (const Template& t : templates(style.face)) {
          if (t.values.empty()) continue;
          double score = 0;
          for (std::size_t k = 0; k < normal.size(); ++k) score += normal[k] * t.values[k];
          if (score > winner_score) {
            winner_score = score;
            winner = t.c;
          }
        }
      }
      reading.text += winner;
      total += winner_score;
    }
    reading.mean_score = total / num_characters;
    if (!found || total > best_total + 1e-6 * num_characters) {
      best = reading;
      best_total = total;
      found = true;
    }
  }
  check_arg(found, "[read_text] a line of ", num_characters, " characters (", line_width, "x",
            line_height, " px) near (", x, ", ", y, ") does not fit in the ", width, "x", height,
            " image");
  return best;
}

bool same_text_ignoring_case(const std::string& read, const std::string& expected) {
  if (read.size() != expected.size()) return false;
  for (std::size_t i = 0; i < read.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(read[i])) !=
        std::toupper(static_cast<unsigned char>(expected[i])))
      return false;
  }
  return true;
}

}  // namespace fi
