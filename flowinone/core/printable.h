// Text from a hostile file made safe to quote in an error message.
//
// A tensor name, a metadata value or a configuration string read from a file may hold escape
// sequences that repaint or retitle the terminal, NUL bytes, stray bytes that are not UTF-8, or a
// megabyte of anything. printable() keeps printable ASCII and well-formed UTF-8 as they are and
// writes every other byte as \xNN (newline and tab as \n and \t), then cuts the result short.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace fi {

/// `text` with control characters (C0, DEL, C1), bytes that are not well-formed UTF-8, and the
/// bidirectional overrides (U+202A-U+202E, U+2066-U+2069) escaped; at most about `max_bytes` of
/// the input are shown, then "...(N bytes)". max_bytes = npos: no limit.
std::string printable(std::string_view text, std::size_t max_bytes = 120);

/// Whether `text` is well-formed UTF-8 (ASCII included).
bool is_utf8(std::string_view text);

/// A multi-line message made printable line by line: newlines are kept, the rest as printable().
std::string printable_lines(std::string_view text);

}  // namespace fi
