// TOML reading of run configurations, kept in its own translation unit: toml++ is a large
// header-only library and only this file needs it.
#include <toml++/toml.h>

#include <sstream>

#include "flowinone/core/errors.h"
#include "flowinone/generative/run_config.h"

namespace fi {

RunConfig config_from_toml(const std::string& text, const std::string& source_name) {
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
