// flowinone serve: the trained models behind an HTTP API (tools/server/, docs/server.md).
// Models load once, at start; SIGINT or SIGTERM stops accepting, cancels the queued jobs, lets
// the requests and jobs in progress finish within --grace seconds (then cancels them: a solve
// stops at its next step), and exits 0.
#include <atomic>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <thread>

#include "commands.h"
#include "flowinone/core/errors.h"
#include "flowinone/core/runtime.h"
#ifdef FLOWINONE_HAVE_SERVER
#include "http_server.h"
#include "job_queue.h"
#endif

namespace fi::cli {

namespace {

struct ServeFlags {
  std::vector<std::string> models;  // NAME=DIR
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string api_key_file;
  std::string cors_origin;
  std::string device = "auto";
  double max_body_mb = 16;
  std::int64_t max_images = 64;
  std::int64_t max_points = 100000;
  int max_steps = 1000;
  std::int64_t max_batch = 64;
  bool merge_images = false;
  std::size_t max_queue = 64;
  int job_workers = 2;
  double keep_results = 600;
  double grace = 10;
  int timeout = 30;
};

volatile std::sig_atomic_t g_serve_stop = 0;

void on_serve_signal(int) { g_serve_stop = 1; }

// NAME=DIR pairs; a bare DIR is named after its last path component.
std::map<std::string, std::string> model_dirs(const std::vector<std::string>& models) {
  std::map<std::string, std::string> dirs;
  for (const auto& entry : models) {
    const auto equals = entry.find('=');
    std::string name, dir;
    if (equals == std::string::npos) {
      dir = entry;
      const auto slash = entry.find_last_of('/', entry.find_last_not_of('/'));
      name = entry.substr(slash == std::string::npos ? 0 : slash + 1);
      while (!name.empty() && name.back() == '/') name.pop_back();
    } else {
      name = entry.substr(0, equals);
      dir = entry.substr(equals + 1);
    }
    check_arg(!name.empty() && !dir.empty(), "[--model] expected NAME=DIR, got '", entry, "'");
    check_arg(dirs.emplace(name, dir).second, "[--model] the name '", name, "' is given twice");
  }
  return dirs;
}

// The key from --api-key-file (first line) or FLOWINONE_API_KEY; never from argv, which other
// users of the machine can read.
std::string api_key(const ServeFlags& flags) {
  if (!flags.api_key_file.empty()) {
    std::ifstream in(flags.api_key_file);
    check_file(in.good(), "[--api-key-file] ", flags.api_key_file, ": cannot read it");
    std::string key;
    std::getline(in, key);
    while (!key.empty() && (key.back() == '\r' || key.back() == ' ')) key.pop_back();
    check_arg(key.size() >= 8, "[--api-key-file] ", flags.api_key_file,
              ": the key must have at least 8 characters");
    return key;
  }
  const char* from_env = std::getenv("FLOWINONE_API_KEY");
  return from_env ? from_env : "";
}

int run_serve(const ServeFlags& flags) {
#ifndef FLOWINONE_HAVE_SERVER
  check_arg(false, "[serve] this build has no HTTP server: cpp-httplib (libcpp-httplib-dev) was ",
            "not found when it was configured");
  return 2;
#else
  // First: a signal that comes while LibTorch or the models load must still end it cleanly.
  std::signal(SIGINT, on_serve_signal);
  std::signal(SIGTERM, on_serve_signal);
  server::ServerLimits limits;
  limits.max_body_bytes = static_cast<std::size_t>(flags.max_body_mb * (1 << 20));
  limits.max_images = flags.max_images;
  limits.max_points = flags.max_points;
  limits.max_steps = flags.max_steps;
  limits.max_batch = flags.max_batch;
  limits.merge_images = flags.merge_images;
  server::ServerApi api(model_dirs(flags.models), parse_device(flags.device), limits);
  server::JobLimits job_limits;
  job_limits.max_queued = flags.max_queue;
  job_limits.workers = flags.job_workers;
  job_limits.keep_seconds = flags.keep_results;
  server::JobQueue jobs(
      job_limits,
      [&api](const std::string& kind, const nlohmann::json& request, server::JobControl& control) {
        return api.run_job(kind, request, control);
      },
      [](std::exception_ptr error) { return server::to_api_error(error).to_json()["error"]; });
  api.metrics().set_gauges([&jobs] {
    return std::vector<std::pair<std::string, double> >{
        {"flowinone_jobs_queued", static_cast<double>(jobs.queued())},
        {"flowinone_jobs_running", static_cast<double>(jobs.running())}};
  });
  server::HttpOptions options;
  options.host = flags.host;
  options.port = flags.port;
  options.api_key = api_key(flags);
  options.cors_origin = flags.cors_origin;
  options.read_timeout_seconds = flags.timeout;
  server::HttpServer http(api, jobs, options);
  const int port = http.bind();  // before loading: a port in use fails at once
  std::thread serving([&] { http.serve(); });
  try {
    api.load();  // /health answers 503 until this is done
  } catch (...) {
    http.stop();
    serving.join();
    jobs.shutdown(0);
    throw;
  }
  std::cerr << "serving " << flags.models.size() << " model(s) on http://" << flags.host << ":"
            << port << (options.api_key.empty() ? "" : " (API key required)") << "; Ctrl-C stops\n";
  while (!g_serve_stop) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::cerr << "stopping: cancelling the queued jobs, finishing those running (at most "
            << flags.grace << " s)\n";
  // Jobs first: their event streams end, so the HTTP server's workers are free to stop.
  jobs.shutdown(flags.grace);
  http.stop();
  serving.join();
  return 0;
#endif
}

}  // namespace

Command add_serve_command(CLI::App& parent) {
  auto flags = std::make_shared<ServeFlags>();
  CLI::App* app = parent.add_subcommand("serve", "serve trained models over HTTP (docs/server.md)");
  app->add_option("--model", flags->models, "NAME=DIR (repeatable; a bare DIR is named after it)")
      ->required();
  app->add_option("--host", flags->host, "address to bind (0.0.0.0: every interface)")
      ->capture_default_str();
  app->add_option("--port", flags->port, "port (0: any free one)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  app->add_option("--api-key-file", flags->api_key_file,
                  "file whose first line is the API key (else $FLOWINONE_API_KEY; none: open)");
  app->add_option("--cors-origin", flags->cors_origin, "the one origin allowed by CORS");
  app->add_option("--device", flags->device, "auto, cpu, cuda or cuda:N")->capture_default_str();
  app->add_option("--max-body-mb", flags->max_body_mb, "largest request body, MiB")
      ->check(CLI::Range(0.001, 1024.0))
      ->capture_default_str();
  app->add_option("--max-images", flags->max_images, "pictures per request")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{4096}))
      ->capture_default_str();
  app->add_option("--max-points", flags->max_points, "2D points per request")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{10'000'000}))
      ->capture_default_str();
  app->add_option("--max-steps", flags->max_steps, "solver steps per request")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  app->add_option("--max-batch", flags->max_batch,
                  "pictures merged into one batched solve (1: no batching)")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{4096}))
      ->capture_default_str();
  app->add_flag("--merge-images", flags->merge_images,
                "merge concurrent picture requests into one solve: more pictures/s, but a merged "
                "picture equals its solve alone only to float rounding (points are always merged, "
                "byte-exact)");
  app->add_option("--max-queue", flags->max_queue,
                  "jobs waiting to run; past it POST /v1/jobs is 429")
      ->check(CLI::Range(std::size_t{1}, std::size_t{100000}))
      ->capture_default_str();
  app->add_option("--job-workers", flags->job_workers, "jobs running at once")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  app->add_option("--keep-results", flags->keep_results,
                  "seconds a finished job's result is kept (then 410)")
      ->check(CLI::Range(1.0, 7.0 * 24 * 3600))
      ->capture_default_str();
  app->add_option("--grace", flags->grace,
                  "seconds running jobs get to finish at shutdown before they are cancelled")
      ->check(CLI::Range(0.0, 3600.0))
      ->capture_default_str();
  app->add_option("--timeout", flags->timeout, "seconds to read a request before giving up")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  return {app, [flags] { return run_serve(*flags); }};
}

}  // namespace fi::cli
