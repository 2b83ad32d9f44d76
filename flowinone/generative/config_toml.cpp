// TOML reading of run configurations, kept in its own translation unit: toml++ is a large
// header-only library and only this file needs it.
#include <toml++/toml.h>

#include <sstream>

#include "flowinone/core/errors.h"
#include "flowinone/generative/run_config.h"

namespace fi {

namespace {

// toml++ 3.3.0 (Debian's) reaches __builtin_unreachable on some non-ASCII code points where it
// expects whitespace (marzer/tomlplusplus#295; fuzz/known/toml_unreachable.toml): undefined
// behaviour. Our keys and every TOML token outside strings and comments are ASCII, so a byte
// >= 0x80 anywhere else is refused here, before the library sees it. Strings (basic, literal,
// multi-line) and comments may hold UTF-8: a data folder's name, say.
void refuse_non_ascii_outside_strings(const std::string& text, const std::string& source_name) {
  enum class In { kCode, kComment, kBasic, kLiteral, kMultiBasic, kMultiLiteral };
  In in = In::kCode;
  std::size_t line = 1;
  auto at = [&](std::size_t i, const char* token) { return text.compare(i, 3, token) == 0; };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n') ++line;
    switch (in) {
      case In::kCode:
        if (c == '#') {
          in = In::kComment;
        } else if (at(i, "\"\"\"")) {
          in = In::kMultiBasic, i += 2;
        } else if (at(i, "'''")) {
          in = In::kMultiLiteral, i += 2;
        } else if (c == '"') {
          in = In::kBasic;
        } else if (c == '\'') {
          in = In::kLiteral;
        } else if (static_cast<unsigned char>(c) >= 0x80) {
          throw FileError("[config] " + source_name + ": malformed TOML at line " +
                          std::to_string(line) +
                          ": a non-ASCII character outside a string or a comment");
        }
        break;
      case In::kComment:
        if (c == '\n') in = In::kCode;
        break;
      case In::kBasic:
        if (c == '\\') {
          if (i + 1 < text.size() && text[i + 1] == '\n') ++line;
          ++i;
        } else if (c == '"' || c == '\n') {
          in = In::kCode;  // an unterminated string is toml++'s to report
        }
        break;
      case In::kLiteral:
        if (c == '\'' || c == '\n') in = In::kCode;
        break;
      case In::kMultiBasic:
        if (c == '\\') {
          if (i + 1 < text.size() && text[i + 1] == '\n') ++line;
          ++i;
        } else if (at(i, "\"\"\"")) {
          in = In::kCode, i += 2;
        }
        break;
      case In::kMultiLiteral:
        if (at(i, "'''")) in = In::kCode, i += 2;
        break;
    }
  }
}

}  // namespace

RunConfig config_from_toml(const std::string& text, const std::string& source_name) {
  refuse_non_ascii_outside_strings(text, source_name);
  toml::table table;
  try {
    table = toml::parse(text, source_name);
  } catch (const toml::parse_error& error) {
    std::ostringstream where;
    where << error.source().begin;
    throw FileError("[config] " + source_name + ": malformed TOML at " + where.str() + ": " +
                    std::string(error.description()));
  }
  RunConfig config;
  for (const auto& [key, node] : table) {
    const std::string name(key.str());
    std::string value;
    if (const auto* s = node.as_string()) {
      value = s->get();
    } else if (const auto* i = node.as_integer()) {
      value = std::to_string(i->get());
    } else if (const auto* f = node.as_floating_point()) {
      std::ostringstream out;
      out.precision(17);
      out << f->get();
      value = out.str();
    } else {
      throw std::invalid_argument("[config] " + source_name + ": key '" + name +
                                  "' must be a string or a number");
    }
    set_config_value(config, name, value);
  }
  return config;
}

}  // namespace fi
