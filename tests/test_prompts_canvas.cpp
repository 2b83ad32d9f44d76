// The prompt canvas and its fonts: every printable character draws, text is measured, wrapped
// and rejected when too wide, shapes land where their coordinates say, and text reads back.
#include <gtest/gtest.h>

#include <cmath>

#include "flowinone/prompts/image_measures.h"
#include "flowinone/prompts/prompt_canvas.h"
#include "flowinone/prompts/text_reader.h"

namespace fi {
namespace {

std::int64_t ink_pixels(const PromptCanvas& canvas) {
  return (canvas.tensor() > 0).sum().item<std::int64_t>();
}

TEST(PromptsFont, EveryPrintableCharacterRendersInBothFaces) {
  for (FontFace face : {FontFace::kSmall, FontFace::kLarge}) {
    for (int code = 32; code < 127; ++code) {
      const std::string text(1, char(code));
      PromptCanvas canvas(16, 16);
      const PixelRect covered = canvas.draw_text(2, 2, text, 1.0f, {face, 2});
      EXPECT_EQ(covered.width(), glyph_width(face) * 2) << text;
      const std::int64_t ink = ink_pixels(canvas);
      if (code == ' ') {
        EXPECT_EQ(ink, 0);
      } else {
        EXPECT_GT(ink, 0) << "'" << text << "' in " << to_string(face) << " draws nothing";
        // All ink lies inside the reported cell.
        const torch::Tensor cell = canvas.tensor()
                                       .narrow(1, covered.y0, covered.height())
                                       .narrow(2, covered.x0, covered.width());
        EXPECT_EQ((cell > 0).sum().item<std::int64_t>(), ink) << text;
      }
    }
  }
}

TEST(PromptsFont, SmallGlyphsAreDistinctSoTheyCanBeRead) {
  const std::string& characters = readable_characters();
  auto pattern = [](char c) {
    std::string bits;
    for (int row = 0; row < glyph_height(FontFace::kSmall); ++row)
      for (int column = 0; column < glyph_width(FontFace::kSmall); ++column)
        bits += glyph_ink(FontFace::kSmall, c, column, row) ? '#' : '.';
    return bits;
  };
  for (std::size_t i = 0; i < characters.size(); ++i) {
    for (std::size_t j = i + 1; j < characters.size(); ++j) {
      EXPECT_NE(pattern(characters[i]), pattern(characters[j]))
          << "'" << characters[i] << "' and '" << characters[j] << "' look the same";
    }
  }
  EXPECT_EQ(pattern('a'), pattern('A'));  // small capitals
}

TEST(PromptsFont, WidthAndWrapping) {
  const TextStyle small;
  EXPECT_EQ(text_width("sneaker", small), 7 * 4 - 1);
  EXPECT_EQ(text_width("ab", TextStyle{FontFace::kLarge, 2}), 2 * 12 - 2);
  const auto lines = wrap_text("ankle boot bottom-right", small, 32);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0], "ankle");
  EXPECT_EQ(lines[2], "bottom-");
  EXPECT_EQ(lines[3], "right");
  EXPECT_EQ(wrap_text("bag top-left", small, 64), std::vector<std::string>{"bag top-left"});
  for (const auto& line : wrap_text("t-shirt/top top-right", small, 32))
    EXPECT_LE(text_width(line, small), 32) << line;
  EXPECT_THROW(wrap_text("abcdefghijk", small, 32), std::invalid_argument);
}

TEST(PromptsCanvas, TextWiderThanTheCanvasIsRejectedNamingTextAndWidths) {
  PromptCanvas canvas(32, 32);
  try {
    canvas.draw_text(0, 0, "sneakers!", 1.0f);  // 35 px
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("sneakers!"), std::string::npos) << message;
    EXPECT_NE(message.find("35"), std::string::npos) << message;
    EXPECT_NE(message.find("32"), std::string::npos) << message;
  }
  EXPECT_THROW(canvas.draw_text(0, 0, "sneaker", 1.0f, {FontFace::kLarge, 1}),
               std::invalid_argument);                                            // 41 px
  EXPECT_THROW(canvas.draw_text(10, 0, "sneaker", 1.0f), std::invalid_argument);  // off the edge
  EXPECT_NO_THROW(canvas.draw_text(0, 0, "pullover", 1.0f));                      // 31 px fits
  EXPECT_THROW(PromptCanvas(32, 32).draw_text_block("a b c d e f", 1.0f, {FontFace::kSmall, 2}),
               std::invalid_argument);  // three lines, 34 px
}

TEST(PromptsCanvas, TextReadsBackAndWrongTextDoesNot) {
  for (const TextStyle style :
       {TextStyle{}, TextStyle{FontFace::kSmall, 2}, TextStyle{FontFace::kLarge, 1}}) {
    PromptCanvas canvas(40, 64);
    canvas.draw_text(3, 4, "Hi5!", 1.0f, style);
    const TextReading exact = read_text(canvas.tensor(), 3, 4, 4, style, 0);
    EXPECT_TRUE(same_text_ignoring_case(exact.text, "hi5!")) << exact.text;
    EXPECT_NEAR(exact.mean_score, 1.0, 1e-9);
    // Found within the search window from a guess one pixel off.
    const TextReading nearby = read_text(canvas.tensor(), 4, 3, 4, style, 1);
    EXPECT_TRUE(same_text_ignoring_case(nearby.text, "hi5!")) << nearby.text;
    EXPECT_EQ(nearby.dx, -1);
    EXPECT_EQ(nearby.dy, 1);
    EXPECT_FALSE(same_text_ignoring_case(nearby.text, "hi6!"));
  }
  // Dark text on a light ground.
  PromptCanvas light(16, 32, 1.0f);
  light.draw_text(1, 1, "OK", light.ink());
  EXPECT_EQ(read_text(light.tensor(), 1, 1, 2, {}, 0, false).text, "OK");
  // A blank cell reads as a space.
  EXPECT_EQ(read_text(PromptCanvas(16, 16).tensor(), 0, 0, 2).text, "  ");
  EXPECT_THROW(read_text(light.tensor(), 30, 0, 3), std::invalid_argument);
}

TEST(PromptsCanvas, DotCentroidIsItsCentreAndBoxesArePixelExact) {
  PromptCanvas canvas(32, 32);
  canvas.draw_dot({10.3, 21.7}, 2.5, 1.0f);
  const BrightMass mass = bright_mass(canvas.tensor());
  EXPECT_NEAR(mass.centroid.x, 10.3, 0.05);
  EXPECT_NEAR(mass.centroid.y, 21.7, 0.05);
  EXPECT_NEAR(mass.mass, 3.14159265 * 2.5 * 2.5, 0.5);

  PromptCanvas boxes(20, 20);
  boxes.fill_box({2, 3, 7, 5}, 1.0f);
  EXPECT_EQ(ink_pixels(boxes), 5 * 2);
  PromptCanvas outline(20, 20);
  outline.outline_box({2, 2, 12, 8}, 1.0f, 1);
  EXPECT_EQ(ink_pixels(outline), 2 * 10 + 2 * 4);
  EXPECT_LT(outline.tensor()[0][4][5].item<float>(), 0);  // hollow
  EXPECT_THROW(PromptCanvas(0, 5), std::invalid_argument);
  EXPECT_THROW(PromptCanvas(5, 5, 0.0f), std::invalid_argument);
}

TEST(PromptsCanvas, LinesStrokesAndArrowsCoverTheirPath) {
  PromptCanvas line(32, 32);
  line.draw_line({4, 16}, {28, 16}, 1.0f, 2.0);
  // A 2-px horizontal line between pixel rows 15 and 16: those rows full along its length.
  EXPECT_FLOAT_EQ(line.tensor()[0][15][16].item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(line.tensor()[0][16][16].item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(line.tensor()[0][20][16].item<float>(), -1.0f);
  const BrightMass line_mass = bright_mass(line.tensor());
  EXPECT_NEAR(line_mass.centroid.x, 16, 0.05);
  EXPECT_NEAR(line_mass.centroid.y, 16, 0.05);

  // A stroke's joins are blended once: an L-shaped stroke is never brighter than ink.
  PromptCanvas stroke(32, 32);
  stroke.draw_stroke({{4, 4}, {20, 4}, {20, 20}}, 0.0f, 3.0);
  EXPECT_LE(stroke.tensor().max().item<float>(), 0.0f + 1e-6f);
  EXPECT_GT((stroke.tensor() > -0.5).sum().item<std::int64_t>(), 2 * 16 * 2);

  // An arrow's head: pixels beside the shaft near the tip, none near the tail.
  PromptCanvas arrow(32, 32);
  arrow.draw_arrow({4, 16}, {26, 16}, 1.0f, 5.0, 1.0);
  auto column_ink = [&](int x) {
    return (arrow.tensor().select(2, x) > -0.9).sum().item<std::int64_t>();
  };
  EXPECT_GT(column_ink(23), column_ink(10));
  EXPECT_EQ(column_ink(29), 0);
}

}  // namespace
}  // namespace fi
