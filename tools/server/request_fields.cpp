#include "request_fields.h"

#include <cmath>

#include "flowinone/core/errors.h"
#include "flowinone/solvers/solver_gave_up.h"
#include "job_queue.h"

namespace fi::server {

using nlohmann::json;

json ApiError::to_json() const {
  json error = {{"code", code_}, {"message", what()}};
  if (!field_.empty()) error["field"] = field_;
  return {{"error", error}};
}

ApiError to_api_error(std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const ApiError& api) {
    return api;
  } catch (const JobCancelled& cancelled) {
    return ApiError(409, "cancelled", "", cancelled.what());
  } catch (const std::invalid_argument& bad) {
    return ApiError(400, "invalid_request", "", bad.what());
  } catch (const FileError& bad) {
    return ApiError(400, "invalid_request", "", bad.what());
  } catch (const SolverGaveUp& gave_up) {
    // The request's solver settings could not finish on this model: the client can change them.
    return ApiError(422, "solver_gave_up", "solver", gave_up.what());
  } catch (const std::exception& other) {
    return ApiError(500, "internal", "", std::string("internal failure: ") + other.what());
  } catch (...) {
    return ApiError(500, "internal", "", "internal failure");
  }
}

ApiError bad_field(const std::string& field, const std::string& message) {
  return ApiError(400, "invalid_field", field, field + ": " + message);
}

std::int64_t int_field(const json& request, const char* name, std::int64_t fallback,
                       std::int64_t low, std::int64_t high) {
  if (!request.contains(name)) return fallback;
  const json& value = request.at(name);
  if (!value.is_number_integer()) throw bad_field(name, "must be an integer");
  // Beyond int64 nlohmann keeps it unsigned: out of range either way.
  if (value.is_number_unsigned() && value.get<std::uint64_t>() > static_cast<std::uint64_t>(high)) {
    throw bad_field(name, "must be in [" + std::to_string(low) + ", " + std::to_string(high) + "]");
  }
  const std::int64_t number = value.get<std::int64_t>();
  if (number < low || number > high) {
    throw bad_field(name, "must be in [" + std::to_string(low) + ", " + std::to_string(high) +
                              "], got " + std::to_string(number));
  }
  return number;
}

double number_field(const json& request, const char* name, double fallback, double low,
                    double high) {
  if (!request.contains(name)) return fallback;
  const json& value = request.at(name);
  if (!value.is_number()) throw bad_field(name, "must be a number");
  const double number = value.get<double>();
  if (!std::isfinite(number) || number < low || number > high) {
    throw bad_field(name, "must be a finite number in [" + std::to_string(low) + ", " +
                              std::to_string(high) + "]");
  }
  return number;
}

std::string string_field(const json& request, const char* name, const std::string& fallback,
                         std::size_t max_length) {
  if (!request.contains(name)) return fallback;
  const json& value = request.at(name);
  if (!value.is_string()) throw bad_field(name, "must be a string");
  if (value.get_ref<const std::string&>().size() > max_length) {
    throw bad_field(name, "at most " + std::to_string(max_length) + " characters");
  }
  return value.get<std::string>();
}

const json& list_field(const json& request, const char* name, const char* what, std::int64_t most) {
  if (!request.contains(name) || !request.at(name).is_array() || request.at(name).empty()) {
    throw bad_field(name, std::string("required: ") + what);
  }
  const json& list = request.at(name);
  if (static_cast<std::int64_t>(list.size()) > most) {
    throw ApiError(413, "too_many", name,
                   std::string(name) + ": at most " + std::to_string(most) + " per request");
  }
  return list;
}

}  // namespace fi::server
