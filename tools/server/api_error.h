// An API request refused: the HTTP status, a machine-readable code, the field at fault and a
// message for people, sent as {"error": {"code", "message", "field"}}.
#pragma once

#include <exception>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

namespace fi::server {

/// Status 400 (bad field), 401 (key), 404 (unknown model or job), 409 (job already ended), 410
/// (job expired), 413 (too large), 422 (the solver gave up on these settings), 429 (queue full),
/// 503 (not ready or shutting down).
class ApiError : public std::runtime_error {
 public:
  ApiError(int status, std::string code, std::string field, const std::string& message)
      : std::runtime_error(message),
        status_(status),
        code_(std::move(code)),
        field_(std::move(field)) {}
  int status() const { return status_; }
  const std::string& code() const { return code_; }
  const std::string& field() const { return field_; }
  /// {"error": {"code", "message", "field"}}
  nlohmann::json to_json() const;

 private:
  int status_;
  std::string code_;
  std::string field_;
};

/// Any exception as the API reports it: an ApiError as it is, the library's bad-argument and
/// bad-file errors as 400, a cancelled job as 409, anything else as 500 (the server goes on).
ApiError to_api_error(std::exception_ptr error);

}  // namespace fi::server
