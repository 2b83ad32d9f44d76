#include "server_metrics.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

namespace fi::server {

namespace {

// Latency from a millisecond to ten minutes (a long dopri5 solve or a training run).
const std::vector<double> kLatencyBounds = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                            0.5,   1,      2.5,   5,    10,    30,   60,  600};
const std::vector<double> kBatchBounds = {1, 2, 4, 8, 16, 32, 64};

std::string number(double value) {
  char text[64];
  std::snprintf(text, sizeof text, "%.17g", value);
  return text;
}

void header(std::string& out, const char* name, const char* type, const char* help) {
  out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::observe(double value) {
  std::size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;
  ++counts_[i];
  sum_ += value;
  ++count_;
}

void Histogram::write(std::string& out, const std::string& name, const std::string& labels) const {
  const std::string sep = labels.empty() ? "" : ",";
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += counts_[i];
    out += name + "_bucket{" + labels + sep + "le=\"" + number(bounds_[i]) + "\"} " +
           std::to_string(cumulative) + "\n";
  }
  out += name + "_bucket{" + labels + sep + "le=\"+Inf\"} " + std::to_string(count_) + "\n";
  const std::string braces = labels.empty() ? "" : "{" + labels + "}";
  out += name + "_sum" + braces + " " + number(sum_) + "\n";
  out += name + "_count" + braces + " " + std::to_string(count_) + "\n";
}

ServerMetrics::ServerMetrics() : batch_requests_(kBatchBounds) {}

void ServerMetrics::request(const std::string& endpoint, int status, double seconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++requests_[{endpoint, status}];
  auto it = latency_.find(endpoint);
  if (it == latency_.end()) it = latency_.emplace(endpoint, Histogram(kLatencyBounds)).first;
  it->second.observe(seconds);
}

void ServerMetrics::batch(std::int64_t requests, std::int64_t nfe) {
  std::lock_guard<std::mutex> lock(mutex_);
  batch_requests_.observe(static_cast<double>(requests));
  ++batches_;
  function_evaluations_ += static_cast<std::uint64_t>(std::max<std::int64_t>(0, nfe));
}

void ServerMetrics::served(std::int64_t images, std::int64_t points) {
  std::lock_guard<std::mutex> lock(mutex_);
  images_ += static_cast<std::uint64_t>(images);
  points_ += static_cast<std::uint64_t>(points);
}

void ServerMetrics::set_gauges(
    std::function<std::vector<std::pair<std::string, double>>()> gauges) {
  std::lock_guard<std::mutex> lock(mutex_);
  gauges_ = std::move(gauges);
}

std::string ServerMetrics::prometheus_text() const {
  // The gauges lock the job queue: read them before this lock, never inside it.
  std::function<std::vector<std::pair<std::string, double>>()> gauges;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    gauges = gauges_;
  }
  const auto gauge_values = gauges ? gauges() : std::vector<std::pair<std::string, double>>{};
  std::lock_guard<std::mutex> lock(mutex_);
  std::string out;
  header(out, "flowinone_requests_total", "counter", "HTTP requests answered, by route and status");
  for (const auto& [key, count] : requests_) {
    out += "flowinone_requests_total{endpoint=\"" + key.first + "\",status=\"" +
           std::to_string(key.second) + "\"} " + std::to_string(count) + "\n";
  }
  header(out, "flowinone_request_seconds", "histogram", "request latency in seconds, by route");
  for (const auto& [endpoint, histogram] : latency_) {
    histogram.write(out, "flowinone_request_seconds", "endpoint=\"" + endpoint + "\"");
  }
  header(out, "flowinone_batch_requests", "histogram", "requests merged into one batched solve");
  batch_requests_.write(out, "flowinone_batch_requests", "");
  header(out, "flowinone_images_total", "counter", "pictures generated or translated");
  out += "flowinone_images_total " + std::to_string(images_) + "\n";
  header(out, "flowinone_points_total", "counter", "2D points generated");
  out += "flowinone_points_total " + std::to_string(points_) + "\n";
  header(out, "flowinone_function_evaluations_total", "counter",
         "velocity network evaluations of the batched solves");
  out += "flowinone_function_evaluations_total " + std::to_string(function_evaluations_) + "\n";
  for (const auto& [name, value] : gauge_values) {
    header(out, name.c_str(), "gauge", "current value");
    out += name + " " + number(value) + "\n";
  }
  header(out, "process_resident_memory_bytes", "gauge", "resident memory of the server");
  out += "process_resident_memory_bytes " + std::to_string(resident_memory_bytes()) + "\n";
  return out;
}

std::string ServerMetrics::endpoint_label(const std::string& method, const std::string& path) {
  static const char* const kRoutes[] = {"/",
                                        "/health",
                                        "/metrics",
                                        "/v1/models",
                                        "/v1/generate",
                                        "/v1/translate",
                                        "/v1/likelihood",
                                        "/v1/prompt",
                                        "/v1/velocity",
                                        "/v1/jobs"};
  for (const char* route : kRoutes)
    if (path == route) return method + " " + route;
  const std::string jobs = "/v1/jobs/";
  if (path.compare(0, jobs.size(), jobs) == 0) {
    const bool events = path.size() > 7 && path.compare(path.size() - 7, 7, "/events") == 0;
    return method + (events ? " /v1/jobs/{id}/events" : " /v1/jobs/{id}");
  }
  const std::string models = "/v1/models/";
  if (path.compare(0, models.size(), models) == 0) return method + " /v1/models/{name}/reference";
  if (path.compare(0, 8, "/static/") == 0) return method + " /static/{file}";
  return "other";
}

std::int64_t resident_memory_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::int64_t size = 0, resident = 0;
  if (!(statm >> size >> resident)) return 0;
  return resident * static_cast<std::int64_t>(sysconf(_SC_PAGESIZE));
}

}  // namespace fi::server
