#include <gtest/gtest.h>

#include "flowinone/core/printable.h"

TEST(Printable, KeepsPrintableAsciiAndUtf8) {
  EXPECT_EQ(fi::printable("model.output.weight"), "model.output.weight");
  EXPECT_EQ(fi::printable("caf\xc3\xa9 \xe2\x86\x92 \xf0\x9f\x99\x82"),
            "caf\xc3\xa9 \xe2\x86\x92 \xf0\x9f\x99\x82");
}

TEST(Printable, EscapesControlsAndStrayBytes) {
  EXPECT_EQ(fi::printable(std::string("a\x1b[2Jb\0c", 8)), "a\\x1b[2Jb\\x00c");
  EXPECT_EQ(fi::printable("tab\there\nnext\x7f"), "tab\\there\\nnext\\x7f");
  EXPECT_EQ(fi::printable("\xff\xfe"), "\\xff\\xfe");           // never UTF-8
  EXPECT_EQ(fi::printable("\xc3"), "\\xc3");                    // cut sequence
  EXPECT_EQ(fi::printable("\xc0\xaf"), "\\xc0\\xaf");           // overlong '/'
  EXPECT_EQ(fi::printable("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // a surrogate
  EXPECT_EQ(fi::printable("\xc2\x9b"), "\\xc2\\x9b");           // C1 CSI
  EXPECT_EQ(fi::printable("a\xe2\x80\xae"
                          "b"),
            "a\\xe2\\x80\\xaeb");  // right-to-left override
}

TEST(Printable, CutsLongTextAndNamesItsLength) {
  EXPECT_EQ(fi::printable(std::string(10, 'x'), 4), "xxxx...(10 bytes)");
  EXPECT_EQ(fi::printable(std::string(10, 'x'), 10), std::string(10, 'x'));
  EXPECT_EQ(fi::printable(std::string(1000, 'x')).size(), 120u + 15u);
}

TEST(Printable, LinesKeepTheirNewlines) {
  EXPECT_EQ(fi::printable_lines("one\x1b\ntwo\n"), "one\\x1b\ntwo\n");
  EXPECT_EQ(fi::printable_lines(std::string(500, 'y')), std::string(500, 'y'));
}
