#include "base64.h"

#include <array>
#include <stdexcept>

namespace fi::server {

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// The 6-bit value of each byte, or -1 for a byte outside the alphabet.
const std::array<int, 256>& decoding_table() {
  static const std::array<int, 256> table = [] {
    std::array<int, 256> values;
    values.fill(-1);
    for (int i = 0; i < 64; ++i) values[static_cast<unsigned char>(kAlphabet[i])] = i;
    return values;
  }();
  return table;
}

}  // namespace

std::string base64_encode(const std::string& bytes) {
  std::string text;
  text.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const unsigned value = (static_cast<unsigned char>(bytes[i]) << 16) |
                           (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                           static_cast<unsigned char>(bytes[i + 2]);
    for (int shift = 18; shift >= 0; shift -= 6) text += kAlphabet[(value >> shift) & 63];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    unsigned value = static_cast<unsigned char>(bytes[i]) << 16;
    if (rest == 2) value |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    text += kAlphabet[(value >> 18) & 63];
    text += kAlphabet[(value >> 12) & 63];
    text += rest == 2 ? kAlphabet[(value >> 6) & 63] : '=';
    text += '=';
  }
  return text;
}

std::string base64_decode(const std::string& text, const std::string& what) {
  if (text.size() % 4 != 0) {
    throw std::invalid_argument(what + ": base64 length " + std::to_string(text.size()) +
                                " is not a multiple of 4");
  }
  const auto& table = decoding_table();
  std::string bytes;
  bytes.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    int padding = 0;
    unsigned value = 0;
    for (std::size_t j = 0; j < 4; ++j) {
      const char c = text[i + j];
      int digit = table[static_cast<unsigned char>(c)];
      if (c == '=' && last && j >= 2) {
        ++padding;
        digit = 0;
      } else if (digit < 0 || padding > 0) {
        throw std::invalid_argument(what + ": not base64 (byte " + std::to_string(i + j) + ")");
      }
      value = (value << 6) | static_cast<unsigned>(digit);
    }
    bytes += static_cast<char>((value >> 16) & 255);
    if (padding < 2) bytes += static_cast<char>((value >> 8) & 255);
    if (padding < 1) bytes += static_cast<char>(value & 255);
  }
  return bytes;
}

std::string decode_picture_text(const std::string& text, const std::string& what) {
  const std::string prefix = "data:";
  if (text.compare(0, prefix.size(), prefix) != 0) return base64_decode(text, what);
  const std::size_t comma = text.find(',');
  if (comma == std::string::npos || comma < 7 || text.compare(comma - 7, 7, ";base64") != 0) {
    throw std::invalid_argument(what + ": a data URL must be data:image/png;base64,...");
  }
  return base64_decode(text.substr(comma + 1), what);
}

}  // namespace fi::server
