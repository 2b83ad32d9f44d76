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

// Runs `handle`, turning every failure into a JSON error (to_api_error): the server keeps serving.
template <typename Handle>
void guarded(httplib::Response& response, Handle handle, int status = 200) {
  try {
    send(response, status, handle());
  } catch (...) {
    send_error(response, to_api_error(std::current_exception()));
  }
}

// The job table's refusals as API errors.
template <typename Handle>
json job_call(Handle handle) {
  try {
    return handle();
  } catch (const JobQueue::QueueFull& full) {
    throw ApiError(429, "queue_full", "", full.what());
  } catch (const JobQueue::ShuttingDown& stopping) {
    throw ApiError(503, "shutting_down", "", stopping.what());
  } catch (const JobQueue::UnknownJob& unknown) {
    throw ApiError(404, "unknown_job", "id", unknown.what());
  } catch (const JobQueue::ExpiredJob& expired) {
    throw ApiError(410, "job_expired", "id", expired.what());
  } catch (const JobQueue::AlreadyFinished& finished) {
    throw ApiError(409, "job_finished", "id", finished.what());
  }
}

// The time each request started, for the latency metric: set before routing, read by the logger
// on the same thread once the answer is written.
thread_local std::chrono::steady_clock::time_point t_request_start;

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
  Routes(ServerApi& api, JobQueue& jobs, HttpOptions options);
  bool authorized(const httplib::Request& request) const;
  template <typename Handler>
  void route_json(const char* pattern, Handler handler);
  void route_jobs();

  ServerApi& api_;
  JobQueue& jobs_;
  HttpOptions options_;
  httplib::Server server_;
  std::mutex state_;             // guards the two flags below
  bool stop_requested_ = false;  // stop() was called: serve() must not start listening
  std::atomic<bool> serving_{false};
};

HttpServer::HttpServer(ServerApi& api, JobQueue& jobs, HttpOptions options)
    : routes_(std::make_unique<Routes>(api, jobs, std::move(options))) {}

HttpServer::~HttpServer() = default;

HttpServer::Routes::Routes(ServerApi& api, JobQueue& jobs, HttpOptions options)
    : api_(api), jobs_(jobs), options_(std::move(options)) {
  const int threads = std::max(1, options_.threads);
  server_.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server_.set_payload_max_length(api_.limits().max_body_bytes);
  server_.set_read_timeout(options_.read_timeout_seconds, 0);
  server_.set_write_timeout(options_.write_timeout_seconds, 0);
  server_.set_keep_alive_max_count(100);
  if (!options_.cors_origin.empty()) {
    server_.set_default_headers(
        {{"Access-Control-Allow-Origin", options_.cors_origin},
         {"Access-Control-Allow-Headers", "Authorization, Content-Type, X-API-Key"},
         {"Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS"}});
    server_.Options(
        ".*", [](const httplib::Request&, httplib::Response& response) { response.status = 204; });
  }
  // Authentication before routing; /health stays open for load balancers.
  server_.set_pre_routing_handler(
      [this](const httplib::Request& request, httplib::Response& response) {
        t_request_start = std::chrono::steady_clock::now();
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
  server_.Get("/metrics", [this](const httplib::Request&, httplib::Response& response) {
    response.set_content(api_.metrics().prometheus_text(), "text/plain; version=0.0.4");
  });
  route_json("/v1/generate", [this](const json& body) { return api_.generate(body); });
  route_json("/v1/translate", [this](const json& body) { return api_.translate(body); });
  route_json("/v1/likelihood", [this](const json& body) { return api_.likelihood(body); });
  route_json("/v1/prompt", [this](const json& body) { return api_.prompt(body); });
  route_json("/v1/velocity", [this](const json& body) { return api_.velocity(body); });
  server_.Get(R"(/v1/models/([^/]+)/reference)",
              [this](const httplib::Request& request, httplib::Response& response) {
                guarded(response, [&] { return api_.reference(request.matches[1]); });
              });
  route_jobs();
  server_.set_logger([this](const httplib::Request& request, const httplib::Response& response) {
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t_request_start).count();
    api_.metrics().request(ServerMetrics::endpoint_label(request.method, request.path),
                           response.status, seconds);
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

template <typename Handler>
void HttpServer::Routes::route_json(const char* pattern, Handler handler) {
  server_.Post(pattern, [handler](const httplib::Request& request, httplib::Response& response) {
    guarded(response, [&] { return handler(parse_body(request)); });
  });
}

void HttpServer::Routes::route_jobs() {
  server_.Post("/v1/jobs", [this](const httplib::Request& request, httplib::Response& response) {
    guarded(
        response,
        [&] {
          const json body = parse_body(request);
          if (!body.is_object() || !body.contains("kind") || !body.at("kind").is_string()) {
            throw ApiError(400, "invalid_field", "kind",
                           "kind: required: generate, translate, likelihood, prompt or train");
          }
          const std::string kind = body.at("kind").get<std::string>();
          api_.check_job(kind, body);
          return job_call([&] { return jobs_.submit(kind, body); });
        },
        202);
  });
  server_.Get("/v1/jobs", [this](const httplib::Request&, httplib::Response& response) {
    guarded(response, [&] { return jobs_.list(); });
  });
  server_.Get(R"(/v1/jobs/([^/]+))", [this](const httplib::Request& request,
                                            httplib::Response& response) {
    guarded(response, [&] { return job_call([&] { return jobs_.status(request.matches[1]); }); });
  });
  server_.Delete(R"(/v1/jobs/([^/]+))", [this](const httplib::Request& request,
                                               httplib::Response& response) {
    guarded(response, [&] { return job_call([&] { return jobs_.cancel(request.matches[1]); }); });
  });
  // Server-sent events: "progress" at every change, then "done", "failed" or "cancelled" with
  // the whole job, and the stream ends. A comment line every second keeps proxies from closing it.
  server_.Get(R"(/v1/jobs/([^/]+)/events)", [this](const httplib::Request& request,
                                                   httplib::Response& response) {
    const std::string id = request.matches[1];
    try {
      job_call([&] { return jobs_.status(id); });
    } catch (...) {
      send_error(response, to_api_error(std::current_exception()));
      return;
    }
    auto seen = std::make_shared<std::uint64_t>(0);
    auto over = std::make_shared<bool>(false);
    response.set_header("Cache-Control", "no-cache");
    response.set_chunked_content_provider(
        "text/event-stream", [this, id, seen, over](std::size_t, httplib::DataSink& sink) {
          if (*over) {
            sink.done();
            return true;
          }
          std::uint64_t version = 0;
          bool ended = false;
          json job;
          try {
            job = jobs_.wait_for_change(id, *seen, std::chrono::milliseconds(1000), version, ended);
          } catch (...) {  // forgotten meanwhile
            sink.done();
            return true;
          }
          std::string text;
          if (version == *seen && !ended) {
            text = ": waiting\n\n";
          } else {
            if (!ended) job.erase("result");
            text = "event: " + (ended ? job.at("status").get<std::string>() : "progress") +
                   "\ndata: " + job.dump() + "\n\n";
          }
          *seen = version;
          if (!sink.write(text.data(), text.size())) return false;
          if (ended) {
            *over = true;
            sink.done();
          }
          return true;
        });
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
