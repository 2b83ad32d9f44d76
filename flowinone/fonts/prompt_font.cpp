#include "flowinone/fonts/prompt_font.h"

#include <array>
#include <cctype>
#include <stdexcept>

#include "flowinone/core/errors.h"
#include "flowinone/core/named_values.h"
#include "flowinone/fonts/bitmap_font.h"

namespace fi {
namespace {

constexpr int kSmallWidth = 3;
constexpr int kSmallHeight = 5;

// The 3x5 face, one string of 15 characters per glyph ('#' = ink), rows top to bottom. Drawn
// for this project; glyphs that look alike at this size ('0' and 'O', '2' and 'Z', 'I' and
// '|') still differ in at least one pixel so that a reader can tell them apart.
struct SmallFont {
  std::array<std::array<bool, kSmallWidth * kSmallHeight>, 128> ink{};
  std::array<bool, 128> known{};

  SmallFont() {
    const std::pair<char, const char*> table[] = {
        {' ', "..............."},  {'!', ".#..#..#.....#."},  {'"', "#.##.#........."},
        {'#', "#.#####.#####.#"},  {'$', ".####..#..####."},  {'%', "#.#..#.#.#..#.#"},
        {'&', ".#.#.#.#.#.#.##"},  {'\'', ".#..#.........."}, {'(', "..#.#..#..#...#"},
        {')', "#...#..#..#.#.."},  {'*', "...#.#.#.#.#..."},  {'+', "....#.###.#...."},
        {',', "..........#.#.."},  {'-', "......###......"},  {'.', ".............#."},
        {'/', "..#..#.#.#..#.."},  {'0', "####.##.##.####"},  {'1', ".#.##..#..#.###"},
        {'2', "##...#.#.#..###"},  {'3', "##...#.#...###."},  {'4', "#.##.####..#..#"},
        {'5', "####..##...###."},  {'6', ".###..####.####"},  {'7', "###..#.#..#..#."},
        {'8', "####.#####.####"},  {'9', "####.####..###."},  {':', "....#.....#...."},
        {';', "....#.....#.#.."},  {'<', "..#.#.#...#...#"},  {'=', "...###...###..."},
        {'>', "#...#...#.#.#.."},  {'?', "##...#.#.....#."},  {'@', ".#.#.#####...##"},
        {'A', ".#.#.#####.##.#"},  {'B', "##.#.###.#.###."},  {'C', ".###..#..#...##"},
        {'D', "##.#.##.##.###."},  {'E', "####..##.#..###"},  {'F', "####..##.#..#.."},
        {'G', ".###..#.##.#.##"},  {'H', "#.##.#####.##.#"},  {'I', "###.#..#..#.###"},
        {'J', "..#..#..##.#.#."},  {'K', "#.##.###.#.##.#"},  {'L', "#..#..#..#..###"},
        {'M', "#.########.##.#"},  {'N', "##.#.##.##.##.#"},  {'O', ".#.#.##.##.#.#."},
        {'P', "##.#.###.#..#.."},  {'Q', ".#.#.##.###..##"},  {'R', "##.#.###.#.##.#"},
        {'S', ".###...#...###."},  {'T', "###.#..#..#..#."},  {'U', "#.##.##.##.####"},
        {'V', "#.##.##.##.#.#."},  {'W', "#.##.########.#"},  {'X', "#.##.#.#.#.##.#"},
        {'Y', "#.##.#.#..#..#."},  {'Z', "###..#.#.#..###"},  {'[', "##.#..#..#..##."},
        {'\\', "#..#...#...#..#"}, {']', ".##..#..#..#.##"},  {'^', ".#.#.#........."},
        {'_', "............###"},  {'`', "#...#.........."},  {'{', ".##.#.#...#..##"},
        {'|', ".#..#..#..#..#."},  {'}', "##..#...#.#.##."},  {'~', "....####......."},
    };
    for (const auto& [c, pattern] : table) {
      const std::string rows = pattern;
      if (rows.size() != std::size_t(kSmallWidth * kSmallHeight))
        throw std::logic_error(std::string("[prompt_font] glyph '") + c + "' is malformed");
      for (int i = 0; i < kSmallWidth * kSmallHeight; ++i) ink[std::size_t(c)][i] = rows[i] == '#';
      known[std::size_t(c)] = true;
    }
  }
};

const SmallFont& small_font() {
  static const SmallFont instance;
  return instance;
}

void check_style(const TextStyle& style, const char* where) {
  check_arg(style.scale >= 1, "[", where, "] text scale ", style.scale, " must be at least 1");
}

}  // namespace

namespace {
constexpr NamedValue<FontFace> kFaceNames[] = {{FontFace::kSmall, "small"},
                                               {FontFace::kLarge, "large"}};
}  // namespace

FontFace parse_font_face(const std::string& name) { return parse_named(kFaceNames, name, "font"); }

std::string to_string(FontFace face) { return name_of(kFaceNames, face); }

int glyph_width(FontFace face) { return face == FontFace::kSmall ? kSmallWidth : kGlyphWidth; }

int glyph_height(FontFace face) { return face == FontFace::kSmall ? kSmallHeight : kGlyphHeight; }

bool glyph_ink(FontFace face, char c, int column, int row) {
  if (column < 0 || row < 0 || column >= glyph_width(face) || row >= glyph_height(face))
    return false;
  if (face == FontFace::kLarge) return (glyph_rows(c)[row] >> (kGlyphWidth - 1 - column)) & 1;
  const SmallFont& font = small_font();
  auto code = static_cast<unsigned char>(c);
  if (code < 128 && std::islower(code)) code = static_cast<unsigned char>(std::toupper(code));
  if (code < 128 && font.known[code]) return font.ink[code][row * kSmallWidth + column];
  // Unknown bytes draw as a box outline.
  return column == 0 || row == 0 || column == kSmallWidth - 1 || row == kSmallHeight - 1;
}

int text_width(const std::string& text, const TextStyle& style) {
  check_style(style, "text_width");
  if (text.empty()) return 0;
  return int(text.size()) * (glyph_width(style.face) + 1) * style.scale - style.scale;
}

int text_line_height(const TextStyle& style) {
  check_style(style, "text_line_height");
  return glyph_height(style.face) * style.scale;
}

int text_line_advance(const TextStyle& style) { return text_line_height(style) + style.scale; }

std::vector<std::string> wrap_text(const std::string& text, const TextStyle& style, int max_width) {
  // Pieces: words split at spaces, and words too wide alone split after '-' or '/'.
  std::vector<std::string> pieces;
  std::string word;
  auto flush_word = [&] {
    if (word.empty()) return;
    if (text_width(word, style) <= max_width) {
      pieces.push_back(word);
    } else {
      std::string part;
      for (char c : word) {
        part += c;
        if (c == '-' || c == '/') {
          pieces.push_back(part);
          part.clear();
        }
      }
      if (!part.empty()) pieces.push_back(part);
    }
    word.clear();
  };
  for (char c : text) {
    if (c == ' ') {
      flush_word();
    } else {
      word += c;
    }
  }
  flush_word();
  for (const auto& piece : pieces) {
    check_arg(text_width(piece, style) <= max_width, "[wrap_text] text \"", text, "\": \"", piece,
              "\" is ", text_width(piece, style), " px wide at scale ", style.scale,
              ", wider than the ", max_width, " px available");
  }
  // Greedy filling; a piece that ended in '-' or '/' joins the next without a space.
  std::vector<std::string> lines;
  std::string line;
  bool line_ends_in_break = false;
  for (const auto& piece : pieces) {
    const std::string joined =
        line.empty() ? piece : line + (line_ends_in_break ? "" : " ") + piece;
    if (!line.empty() && text_width(joined, style) > max_width) {
      lines.push_back(line);
      line = piece;
    } else {
      line = joined;
    }
    line_ends_in_break = piece.back() == '-' || piece.back() == '/';
  }
  if (!line.empty()) lines.push_back(line);
  return lines;
}

const std::string& readable_characters() {
  static const std::string characters = [] {
    std::string all;
    for (int c = 33; c < 127; ++c) {
      if (!std::islower(c)) all += char(c);
    }
    return all;
  }();
  return characters;
}

}  // namespace fi
