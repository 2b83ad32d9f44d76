// The HTTP side of `flowinone serve` (cpp-httplib, kept out of this header so that only
// http_server.cpp needs its compile flags): routes (server_api.h holds what they do), the API key,
// body and time limits, CORS, and JSON errors for everything that goes wrong, cpp-httplib's own
// refusals (a body over the limit, an unknown route) included; every answer is counted in the
// API's metrics under its route pattern.
//
// Security: binds 127.0.0.1 unless told otherwise; with an API key every route but /health
// needs "Authorization: Bearer KEY" (or "X-API-Key: KEY"), compared in constant time; CORS
// headers only for the one origin named. TLS belongs to a reverse proxy in front.
#pragma once

#include <memory>
#include <string>

#include "job_queue.h"
#include "server_api.h"

namespace fi::server {

struct HttpOptions {
  std::string host = "127.0.0.1";
  int port = 8080;          // 0: any free port (bind() returns it)
  std::string api_key;      // empty: no key needed
  std::string cors_origin;  // empty: no CORS headers
  int read_timeout_seconds = 30;
  int write_timeout_seconds = 120;
  int threads = 32;  // connections served at once (a server-sent event stream holds one)
};

class HttpServer {
 public:
  /// `jobs` runs POST /v1/jobs; its runner is api.run_job.
  HttpServer(ServerApi& api, JobQueue& jobs, HttpOptions options);
  ~HttpServer();
  /// Binds the socket; returns the port. Throws std::runtime_error when it cannot.
  int bind();
  /// Serves until stop(); returns when the server has stopped.
  void serve();
  /// Stops accepting; requests in progress finish. Safe from another thread.
  void stop();

 private:
  struct Routes;  // the cpp-httplib server and its handlers (http_server.cpp alone includes it)
  std::unique_ptr<Routes> routes_;
};

/// Constant-time equality of two secrets (the time depends on their lengths only).
bool same_secret(const std::string& given, const std::string& expected);

}  // namespace fi::server
