#include "flowinone/core/printable.h"

#include <cstdint>
#include <cstdio>

namespace fi {
namespace {

void append_hex(std::string& out, std::uint8_t byte) {
  char buffer[5];
  std::snprintf(buffer, sizeof(buffer), "\\x%02x", byte);
  out += buffer;
}

// Length of the well-formed UTF-8 sequence at text[i] (2 to 4 bytes) and its code point, or 0
// when the bytes there are not one (overlong forms, surrogates and values past U+10FFFF are not).
std::size_t utf8_sequence(std::string_view text, std::size_t i, std::uint32_t* code_point) {
  const auto byte = [&](std::size_t k) { return std::uint8_t(text[k]); };
  const std::uint8_t lead = byte(i);
  std::size_t length = 0;
  std::uint32_t value = 0;
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2, value = lead & 0x1f;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3, value = lead & 0x0f;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4, value = lead & 0x07;
  } else {
    return 0;
  }
  if (text.size() - i < length) return 0;
  for (std::size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xc0) != 0x80) return 0;
    value = (value << 6) | (byte(i + k) & 0x3f);
  }
  const std::uint32_t smallest[] = {0, 0, 0x80, 0x800, 0x10000};
  if (value < smallest[length] || value > 0x10ffff || (value >= 0xd800 && value <= 0xdfff))
    return 0;
  *code_point = value;
  return length;
}

bool is_hidden_control(std::uint32_t code_point) {
  return (code_point >= 0x80 && code_point <= 0x9f) ||      // C1 controls
         (code_point >= 0x202a && code_point <= 0x202e) ||  // bidirectional embeddings
         (code_point >= 0x2066 && code_point <= 0x2069);    // bidirectional isolates
}

}  // namespace

bool is_utf8(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    if (std::uint8_t(text[i]) < 0x80) {
      ++i;
      continue;
    }
    std::uint32_t code_point = 0;
    const std::size_t length = utf8_sequence(text, i, &code_point);
    if (length == 0) return false;
    i += length;
  }
  return true;
}

std::string printable(std::string_view text, std::size_t max_bytes) {
  std::string out;
  std::size_t i = 0;
  while (i < text.size() && i < max_bytes) {
    const std::uint8_t byte = std::uint8_t(text[i]);
    if (byte >= 0x20 && byte < 0x7f) {
      out += char(byte);
      ++i;
    } else if (byte == '\n') {
      out += "\\n", ++i;
    } else if (byte == '\t') {
      out += "\\t", ++i;
    } else {
      std::uint32_t code_point = 0;
      const std::size_t length = byte >= 0x80 ? utf8_sequence(text, i, &code_point) : 0;
      if (length == 0) {
        append_hex(out, byte);
        ++i;
      } else if (is_hidden_control(code_point)) {
        for (std::size_t k = 0; k < length; ++k) append_hex(out, std::uint8_t(text[i + k]));
        i += length;
      } else {
        out.append(text.substr(i, length));
        i += length;
      }
    }
  }
  if (i < text.size()) out += "...(" + std::to_string(text.size()) + " bytes)";
  return out;
}

std::string printable_lines(std::string_view text) {
  std::string out;
  std::size_t begin = 0;
  while (true) {
    const std::size_t end = text.find('\n', begin);
    out += printable(text.substr(begin, end == std::string_view::npos ? end : end - begin),
                     std::string_view::npos);
    if (end == std::string_view::npos) break;
    out += '\n';
    begin = end + 1;
  }
  return out;
}

}  // namespace fi
