// The run configuration (generative/run_config.h): TOML files (config_from_toml), the JSON kept
// in model and checkpoint metadata (config_from_json), and `--set key=value` assignments, each
// followed by validate_config, the checks of every key's type and range. The first byte picks
// the form. What validates must survive a round trip through TOML and JSON unchanged.
#include <nlohmann/json.hpp>

#include "flowinone/generative/run_config.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string text = fi::fuzz::as_string(data + 1, size - 1);
  fi::fuzz::expect_clean_refusal([&] {
    fi::RunConfig config;
    switch (data[0] % 3) {
      case 0:
        // Non-ASCII outside strings and comments is refused before toml++ sees it (config_toml.cpp;
        // toml++ 3.3.0 reached __builtin_unreachable on fuzz/known/toml_unreachable.toml).
        config = fi::config_from_toml(text, "fuzz.toml");
        break;
      case 1: {
        nlohmann::json json;
        try {
          json = nlohmann::json::parse(text);
        } catch (const nlohmann::json::exception&) {
          return;  // not JSON: the callers turn this into a FileError of their own
        }
        config = fi::config_from_json(json);
        break;
      }
      default:
        // A value that is not UTF-8 is refused (fuzz/known/set_invalid_utf8.bin once passed here
        // and failed later, when the configuration's JSON was written).
        for (std::size_t begin = 0; begin <= text.size();) {
          std::size_t end = text.find('\n', begin);
          if (end == std::string::npos) end = text.size();
          fi::apply_config_assignment(config, text.substr(begin, end - begin));
          begin = end + 1;
        }
    }
    fi::validate_config(config);
    const std::string toml = fi::config_to_toml(config);
    const fi::RunConfig from_toml = fi::config_from_toml(toml, "round-trip.toml");
    const fi::RunConfig from_json = fi::config_from_json(fi::config_to_json(config));
    if (fi::config_to_toml(from_toml) != toml || fi::config_to_toml(from_json) != toml) {
      std::fprintf(stderr, "fuzz: the configuration changed in a round trip:\n%s", toml.c_str());
      std::abort();
    }
  });
  return 0;
}
