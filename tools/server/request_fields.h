// Reading a request's JSON fields with the API's rules: a wrong type or a value out of range is
// a 400 naming the field and what it takes; a list past its cap is a 413. Shared by the endpoints
// (server_api.cpp) and the training jobs (playground_training.cpp).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

#include "api_error.h"

namespace fi::server {

/// 400 invalid_field: "<field>: <message>".
ApiError bad_field(const std::string& field, const std::string& message);

/// An integer in [low, high]; `fallback` when absent.
std::int64_t int_field(const nlohmann::json& request, const char* name, std::int64_t fallback,
                       std::int64_t low, std::int64_t high);

/// A finite number in [low, high]; `fallback` when absent.
double number_field(const nlohmann::json& request, const char* name, double fallback, double low,
                    double high);

/// A string of at most `max_length` bytes; `fallback` when absent.
std::string string_field(const nlohmann::json& request, const char* name,
                         const std::string& fallback, std::size_t max_length = 4096);

/// A required, non-empty list of at most `most` items (413 past it); `what` says what it holds.
const nlohmann::json& list_field(const nlohmann::json& request, const char* name, const char* what,
                                 std::int64_t most);

/// A string parsed by one of the library's closed-set parsers, whose message lists the names.
template <typename Parse>
auto parsed_field(const nlohmann::json& request, const char* name, const std::string& fallback,
                  Parse parse) {
  const std::string text = string_field(request, name, fallback);
  try {
    return parse(text);
  } catch (const std::invalid_argument& error) {
    throw bad_field(name, error.what());
  }
}

}  // namespace fi::server
