#include "http_server.h"

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "base64.h"
#include "flowinone/core/errors.h"
#include "web_assets.h"

namespace fi::server {

using nlohmann::json;

namespace {

void send(httplib::Response& response, int status, const json& body) {
  response.status = status;
  response.set_content(body.dump(), "application/json");
}

void send_error(httplib::Response& response, const ApiError& error) {
  send(response, error.status(), error.to_json());
}

// Runs `handle`, turning every failure into a JSON error: ApiError as it says, the library's
// bad-argument and bad-file errors as 400, anything else as 500. The server keeps serving.
template <typename Handle>
void guarded(httplib::Response& response, Handle handle) {
  try {
    send(response, 200, handle());
  } catch (const ApiError& error) {
    send_error(response, error);
  } catch (const std::invalid_argument& error) {
    send_error(response, ApiError(400, "invalid_request", "", error.what()));
  } catch (const FileError& error) {
    send_error(response, ApiError(400, "invalid_request", "", error.what()));
  } catch (const std::exception& error) {
    send_error(response,
               ApiError(500, "internal", "", std::string("internal failure: ") + error.what()));
  }
}

json parse_body(const httplib::Request& request) {
  if (request.is_multipart_form_data()) {
    // A form upload: the picture as the file "image", the other fields as JSON in "request".
    json body = json::object();
    if (request.has_file("request")) {
      body = json::parse(request.get_file_value("request").content, nullptr, false);
      if (body.is_discarded() || !body.is_object())
        throw ApiError(400, "invalid_json", "request",
                       "request: the form field is not a JSON object");
    }
    if (request.has_file("image"))
      body["image"] = base64_encode(request.get_file_value("image").content);
    return body;
  }
  json body = json::parse(request.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) throw ApiError(400, "invalid_json", "", "the body is not valid JSON");
  return body;
}

}  // namespace

bool same_secret(const std::string& given, const std::string& expected) {
  unsigned char difference = given.size() == expected.size() ? 0 : 1;
  for (std::size_t i = 0; i < given.size(); ++i) {
    difference |= static_cast<unsigned char>(
        given[i] ^ expected[i % std::max<std::size_t>(1, expected.size())]);
  }
  return difference == 0 && !expected.empty();
}

struct HttpServer::Routes {
  Routes(ServerApi& api, HttpOptions options);
  bool authorized(const httplib::Request& request) const;
  void route_json(const char* pattern, json (ServerApi::*handler)(const json&));

  ServerApi& api_;
  HttpOptions options_;
  httplib::Server server_;
  std::mutex state_;             // guards the two flags below
  bool stop_requested_ = false;  // stop() was called: serve() must not start listening
  std::atomic<bool> serving_{false};
};

HttpServer::HttpServer(ServerApi& api, HttpOptions options)
    : routes_(std::make_unique<Routes>(api, std::move(options))) {}

HttpServer::~HttpServer() = default;

HttpServer::Routes::Routes(ServerApi& api, HttpOptions options)
    : api_(api), options_(std::move(options)) {
  server_.set_payload_max_length(api_.limits().max_body_bytes);
  server_.set_read_timeout(options_.read_timeout_seconds, 0);
  server_.set_write_timeout(options_.write_timeout_seconds, 0);
  server_.set_keep_alive_max_count(100);
  if (!options_.cors_origin.empty()) {
    server_.set_default_headers(
        {{"Access-Control-Allow-Origin", options_.cors_origin},
         {"Access-Control-Allow-Headers", "Authorization, Content-Type, X-API-Key"},
         {"Access-Control-Allow-Methods", "GET, POST, OPTIONS"}});
    server_.Options(
        ".*", [](const httplib::Request&, httplib::Response& response) { response.status = 204; });
  }
  // Authentication before routing; /health stays open for load balancers.
  server_.set_pre_routing_handler(
      [this](const httplib::Request& request, httplib::Response& response) {
        // The web page is open too: it holds no data, and a browser cannot send the key with a
        // page load; every API call the page makes still needs it.
        const bool page = request.method == "GET" && find_web_asset(request.path) != nullptr;
        if (request.method == "OPTIONS" || request.path == "/health" || page || authorized(request))
          return httplib::Server::HandlerResponse::Unhandled;
        send_error(response, ApiError(401, "unauthorized", "",
                                      "a valid API key is required: Authorization: Bearer KEY"));
        return httplib::Server::HandlerResponse::Handled;
      });
  // The web page (web_assets.h): "/" and "/static/NAME", compiled into the binary.
  auto web_page = [](const httplib::Request& request, httplib::Response& response) {
    const WebAsset* asset = find_web_asset(request.path);
    if (asset == nullptr) {
      send_error(response, ApiError(404, "not_found", "", "no file " + request.path));
      return;
    }
    response.set_header("Cache-Control", "no-cache");
    response.set_header("X-Content-Type-Options", "nosniff");
    response.set_header("Content-Security-Policy",
                        "default-src 'self'; img-src 'self' data: blob:; object-src 'none'");
    response.set_content(std::string(asset->body), std::string(asset->content_type));
  };
  server_.Get("/", web_page);
  server_.Get(R"(/static/[A-Za-z0-9_.-]+)", web_page);
  server_.Get("/health", [this](const httplib::Request&, httplib::Response& response) {
    guarded(response, [&] { return api_.health(); });
  });
  server_.Get("/v1/models", [this](const httplib::Request&, httplib::Response& response) {
    guarded(response, [&] { return api_.models(); });
  });
  route_json("/v1/generate", &ServerApi::generate);
  route_json("/v1/translate", &ServerApi::translate);
  route_json("/v1/likelihood", &ServerApi::likelihood);
  server_.Post("/v1/prompt", [this](const httplib::Request& request, httplib::Response& response) {
    guarded(response, [&] { return api_.prompt(parse_body(request)); });
  });
  // cpp-httplib's own refusals (413 for a body over the limit, 404 for an unknown route, 400 for
  // a malformed request) come here with an empty body: give them a JSON one.
  server_.set_error_handler([this](const httplib::Request& request, httplib::Response& response) {
    if (!response.body.empty()) return;
    if (response.status == 413) {
      send_error(response, ApiError(413, "body_too_large", "",
                                    "the body exceeds the server's limit of " +
                                        std::to_string(api_.limits().max_body_bytes) + " bytes"));
    } else if (response.status == 404) {
      send_error(response,
                 ApiError(404, "not_found", "", "no route " + request.method + " " + request.path));
    } else {
      send_error(response, ApiError(response.status, "http_error", "",
                                    "HTTP status " + std::to_string(response.status)));
    }
  });
  server_.set_exception_handler(
      [](const httplib::Request&, httplib::Response& response, std::exception_ptr) {
        send_error(response, ApiError(500, "internal", "", "internal failure"));
      });
}

void HttpServer::Routes::route_json(const char* pattern, json (ServerApi::*handler)(const json&)) {
  server_.Post(pattern,
               [this, handler](const httplib::Request& request, httplib::Response& response) {
                 guarded(response, [&] { return (api_.*handler)(parse_body(request)); });
               });
}

bool HttpServer::Routes::authorized(const httplib::Request& request) const {
  if (options_.api_key.empty()) return true;
  std::string given = request.get_header_value("X-API-Key");
  const std::string authorization = request.get_header_value("Authorization");
  const std::string bearer = "Bearer ";
  if (given.empty() && authorization.compare(0, bearer.size(), bearer) == 0)
    given = authorization.substr(bearer.size());
  return same_secret(given, options_.api_key);
}

int HttpServer::bind() {
  const HttpOptions& options = routes_->options_;
  httplib::Server& server = routes_->server_;
  int port = options.port;
  if (port == 0) {
    port = server.bind_to_any_port(options.host);
    if (port < 0) throw std::runtime_error("[serve] cannot bind " + options.host);
  } else if (!server.bind_to_port(options.host, port)) {
    throw std::invalid_argument("[--port] cannot listen on " + options.host + ":" +
                                std::to_string(port) +
                                " (in use, or not an address of this machine)");
  }
  return port;
}

void HttpServer::serve() {
  {
    std::lock_guard<std::mutex> lock(routes_->state_);
    if (routes_->stop_requested_) return;
    routes_->serving_ = true;
  }
  routes_->server_.listen_after_bind();
  routes_->serving_ = false;
}

void HttpServer::stop() {
  bool serving = false;
  {
    std::lock_guard<std::mutex> lock(routes_->state_);
    routes_->stop_requested_ = true;
    serving = routes_->serving_;
  }
  if (!serving) return;  // serve() will not start now
  // cpp-httplib's stop() does nothing until its listener runs: wait for it to start (or fail).
  while (routes_->serving_ && !routes_->server_.is_running())
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  routes_->server_.stop();
}

}  // namespace fi::server
