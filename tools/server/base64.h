// Base64 (RFC 4648, standard alphabet with padding) for pictures carried in JSON, and data URLs
// ("data:image/png;base64,...") as browsers write them. The decoder treats its input as hostile:
// a wrong character, a bad length or misplaced padding is an std::invalid_argument naming `what`.
#pragma once

#include <string>

namespace fi::server {

std::string base64_encode(const std::string& bytes);

/// Decodes standard base64 (whitespace is not allowed); throws std::invalid_argument.
std::string base64_decode(const std::string& text, const std::string& what);

/// The bytes of a picture given as base64 or as a data URL of a base64 PNG.
std::string decode_picture_text(const std::string& text, const std::string& what);

}  // namespace fi::server
